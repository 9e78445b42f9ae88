import Foundation
import OutpostCore
import Testing
import TestSupport

/// Pods as real podman containers: pulls from a real docker-registry with and without a pull secret,
/// volumes from ConfigMaps (items, subPath) and Secrets, env references, logs.
@Suite(.serialized) struct PodTests {
    @Test func pullSecretPullsAndItsAbsenceBacksOff() async throws {
        try await withTemporaryDirectory("outpost-sim-images") { dir in
            let archive = dir + "/busybox.tar"
            try Podman.busyboxImage(archive: archive, cmd: "sleep 3600")
            try await withDockerRegistry(auth: true) { registry in
                let image = "\(registry.host)/test/busybox:1"
                try Podman.push(archive: archive, to: image, credentials: registry.credentials)
                try await withSimulator { sim in
                    let creds = registry.credentials!
                    let secret = try sim.kubectl(["create", "secret", "docker-registry", "regcred", "--docker-server=\(registry.host)",
                                                  "--docker-username=\(creds.user)", "--docker-password=\(creds.password)",
                                                  "--dry-run=client", "-o", "yaml"], check: true)
                    try sim.kubectl(["apply", "-f", "-"], stdin: secret.stdout, check: true)
                    try sim.apply("""
                    apiVersion: v1
                    kind: ConfigMap
                    metadata: {name: settings}
                    data: {app.conf: "mode=fast", other.txt: "second file"}
                    ---
                    apiVersion: v1
                    kind: Secret
                    metadata: {name: token}
                    stringData: {value: "t0ps3cret"}
                    ---
                    apiVersion: v1
                    kind: Pod
                    metadata: {name: with-secret}
                    spec:
                      imagePullSecrets: [{name: regcred}]
                      restartPolicy: Never
                      containers:
                      - name: main
                        image: \(image)
                        command: ["/bin/sh", "-c"]
                        args: ["cat /etc/app/renamed.conf; echo; cat /etc/other.txt; echo; echo token=$TOKEN; ls /scratch && echo scratch-ok; id -u"]
                        env:
                        - name: TOKEN
                          valueFrom: {secretKeyRef: {name: token, key: value}}
                        securityContext: {runAsUser: 1234, runAsGroup: 1234}
                        volumeMounts:
                        - {name: cfg, mountPath: /etc/app}
                        - {name: cfg-all, mountPath: /etc/other.txt, subPath: other.txt}
                        - {name: scratch, mountPath: /scratch}
                      volumes:
                      - name: cfg
                        configMap: {name: settings, items: [{key: app.conf, path: renamed.conf}]}
                      - name: cfg-all
                        configMap: {name: settings}
                      - name: scratch
                        emptyDir: {}
                    ---
                    apiVersion: v1
                    kind: Pod
                    metadata: {name: without-secret}
                    spec:
                      containers:
                      - {name: main, image: "\(image)", imagePullPolicy: Always}
                    """)
                    try await sim.waitUntil("pod with-secret to succeed", timeout: 120) {
                        try sim.kubectl(["get", "pod", "with-secret", "-o", "jsonpath={.status.phase}"]).out == "Succeeded"
                    }
                    let logs = try sim.kubectl(["logs", "with-secret"], check: true).out
                    #expect(logs.contains("mode=fast"))
                    #expect(logs.contains("second file"))
                    #expect(logs.contains("token=t0ps3cret"))
                    #expect(logs.contains("scratch-ok"))
                    #expect(logs.contains("1234"))

                    try await sim.waitUntil("ImagePullBackOff without the pull secret", timeout: 90) {
                        try sim.kubectl(["get", "pod", "without-secret", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}"]).out == "ImagePullBackOff"
                    }
                    let message = try sim.kubectl(["get", "pod", "without-secret", "-o", "json"], check: true)
                    #expect(try JSONValue.parse(message.stdout)["status"]?["phase"] == "Pending")
                    let events = try sim.kubectl(["get", "events", "--field-selector", "involvedObject.name=without-secret"], check: true).out
                    #expect(events.contains("Failed"))
                    // The kubelet's wording: ErrImagePull on a failed pull, then ImagePullBackOff while backing off.
                    #expect(events.contains("Error: ErrImagePull"), "\(events)")
                    #expect(events.contains("Error: ImagePullBackOff"), "\(events)")
                    let described = try sim.kubectl(["describe", "pod", "with-secret"], check: true).out
                    #expect(described.contains(image))
                }
            }
        }
    }
}
