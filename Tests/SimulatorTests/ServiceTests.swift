import Foundation
import OutpostCore
import Testing
import TestSupport

/// Services as pods see them: every DNS form of a service name reaches the service port, forwarded to a
/// ready endpoint's targetPort (named or numeric, in another namespace, for a service created after the
/// pod started); cluster IPs and allocated node ports also answer on the host, and `down` removes them.
@Suite(.serialized) struct ServiceTests {
    @Test func serviceNamesReachTheServicePortInsidePods() async throws {
        var clusterIP = ""
        try await withTemporaryDirectory("outpost-sim-svc") { dir in
            let archive = dir + "/busybox.tar"
            try Podman.busyboxImage(archive: archive)
            try await withSimulator { sim in
                try sim.preload(archive: archive, as: "localhost/test/busybox:1")
                try sim.apply("""
                apiVersion: v1
                kind: Namespace
                metadata: {name: other}
                ---
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: web}
                spec:
                  replicas: 2
                  selector: {matchLabels: {app: web}}
                  template:
                    metadata: {labels: {app: web}}
                    spec:
                      containers:
                      - name: sidecar
                        image: localhost/test/busybox:1
                      - name: httpd
                        image: localhost/test/busybox:1
                        command: ["/bin/sh", "-c", "mkdir -p /www && echo page-from-web > /www/index.html && exec httpd -f -p 80 -h /www"]
                        ports: [{name: http, containerPort: 80}]
                        readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: web}
                spec:
                  selector: {app: web}
                  ports: [{name: web, port: 8080, targetPort: http}]
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: echo, namespace: other, labels: {app: echo}}
                spec:
                  containers:
                  - name: httpd
                    image: localhost/test/busybox:1
                    command: ["/bin/sh", "-c", "mkdir -p /www && echo page-from-other > /www/index.html && exec httpd -f -p 8000 -h /www"]
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: echo, namespace: other}
                spec:
                  selector: {app: echo}
                  ports: [{port: 9000, targetPort: 8000}]
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: client}
                spec:
                  containers:
                  - name: client
                    image: localhost/test/busybox:1
                    command:
                    - /bin/sh
                    - -c
                    - |
                      echo "links=$WEB_SERVICE_HOST:$WEB_SERVICE_PORT:$WEB_SERVICE_PORT_WEB"
                      # timeout: while podman starts other pods, a connect here can stall for seconds before
                      # its SYN leaves the pod (packet captures show none; the proxy's loops never stall).
                      get() { printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | timeout 6 nc -w 3 "$1" "$2" 2>&1 | tail -n 1; }
                      i=0
                      while [ $i -lt 150 ]; do
                        for n in web web.default web.default.svc web.default.svc.cluster.local; do echo "$n=$(get $n 8080)"; done
                        echo "other=$(get echo.other.svc.cluster.local 9000)"
                        echo "short-other=$(get echo 9000)"
                        echo "late=$(get late.default.svc.cluster.local 8081)"
                        sleep 2; i=$((i+1))
                      done
                """)
                try sim.kubectl(["rollout", "status", "deployment/web", "--timeout=150s"], check: true)
                do {
                    try await sim.waitUntil("every name of the web service to answer in the client pod", timeout: 120) {
                        let logs = try sim.kubectl(["logs", "client"]).out
                        return ["web", "web.default", "web.default.svc", "web.default.svc.cluster.local"].allSatisfy { logs.contains("\n\($0)=page-from-web\n") }
                            && logs.contains("\nother=page-from-other\n")
                    }
                } catch {
                    let logs = try sim.kubectl(["logs", "client", "--tail", "20"]).out
                    let state = try sim.kubectl(["get", "pods,svc,endpoints", "-A", "-o", "wide"]).out
                    Issue.record("client logs:\n\(logs)\ncluster:\n\(state)")
                    throw error
                }
                // The short name resolves only in the service's own namespace.
                #expect(!(try sim.kubectl(["logs", "client"]).out.contains("short-other=page-from-other")))

                // A service created after the pod started resolves too (the pod's /etc/hosts is kept current).
                try sim.apply("""
                apiVersion: v1
                kind: Service
                metadata: {name: late}
                spec:
                  type: NodePort
                  selector: {app: web}
                  ports: [{port: 8081, targetPort: 80}]
                """)
                try await sim.waitUntil("the late service to answer in the client pod", timeout: 60) {
                    try sim.kubectl(["logs", "client"]).out.contains("\nlate=page-from-web\n")
                }

                // The node port was allocated from the simulator's range and answers on 127.0.0.1.
                let nodePort = Int(try sim.kubectl(["get", "svc", "late", "-o", "jsonpath={.spec.ports[0].nodePort}"], check: true).out) ?? 0
                #expect(sim.nodePortRange.contains(nodePort))
                try await sim.waitUntil("the allocated node port to answer") {
                    try ProcessRunner.run("curl", ["-s", "-m", "3", "http://127.0.0.1:\(nodePort)/index.html"]).out.contains("page-from-web")
                }

                // The cluster IP answers on the host as well, and the kubernetes service reaches the API server.
                clusterIP = try sim.kubectl(["get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}"], check: true).out
                #expect(clusterIP.hasPrefix("10.96."))
                // Service links in the environment, as for pods created after the service.
                #expect(try sim.kubectl(["logs", "client"], check: true).out.contains("links=\(clusterIP):8080:8080"))
                let viaClusterIP = try ProcessRunner.run("curl", ["-s", "-m", "5", "http://\(clusterIP):8080/index.html"])
                #expect(viaClusterIP.out.contains("page-from-web"))
                let apiIP = try sim.kubectl(["get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}"], check: true).out
                let version = try ProcessRunner.run("curl", ["-s", "-m", "5", "--cacert", sim.caCertificate, "https://\(apiIP):443/version"])
                #expect(version.out.contains("outpost-sim"))
                let endpoints = try JSONValue.parse(try sim.kubectl(["get", "endpoints", "web", "-o", "json"], check: true).stdout)
                #expect(endpoints["subsets"]?[0]?["ports"]?[0]?["port"] == 80)
                #expect(endpoints["subsets"]?[0]?["addresses"]?.arrayValue?.count == 2)
            }
        }
        // `down` took the cluster IPs off the loopback interface.
        let addresses = try ProcessRunner.run("ip", ["-4", "addr", "show", "dev", "lo"]).out
        #expect(!clusterIP.isEmpty)
        #expect(!addresses.contains(clusterIP + "/32"))
    }
}
