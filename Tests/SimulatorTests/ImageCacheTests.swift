import Foundation
import OutpostCore
import Testing
import TestSupport

/// Nodes that start with a Talos image cache, and scheduling across two nodes by nodeSelector.
@Suite(.serialized) struct ImageCacheTests {
    /// Writes a Talos image-cache tree for one docker-archive under `name` (registry `host:port` → `host_port_`).
    static func makeImageCache(archive: String, registryDir: String, repo: String, tag: String, in dir: String) throws -> String {
        let layout = dir + "/layout"
        try ProcessRunner.run("skopeo", ["copy", "--quiet", "docker-archive:" + archive, "oci:\(layout):\(tag)"], check: true)
        let index = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: layout + "/index.json")))
        guard let digest = index["manifests"]?[0]?["digest"]?.stringValue else { throw POSIXError(.EINVAL) }
        let cache = dir + "/imagecache"
        try FileManager.default.createDirectory(atPath: cache + "/blob", withIntermediateDirectories: true)
        for blob in try FileManager.default.contentsOfDirectory(atPath: layout + "/blobs/sha256") {
            try FileManager.default.copyItem(atPath: layout + "/blobs/sha256/" + blob, toPath: cache + "/blob/sha256-" + blob)
        }
        let reference = cache + "/manifests/\(registryDir)/\(repo)/reference"
        try FileManager.default.createDirectory(atPath: reference, withIntermediateDirectories: true)
        let hex = String(digest.dropFirst("sha256:".count))
        try FileManager.default.copyItem(atPath: layout + "/blobs/sha256/" + hex, toPath: reference + "/" + tag)
        return cache
    }

    @Test func imageCacheImagesAreOnEveryNodeAndNodeSelectorsPickTheNode() async throws {
        try await withTemporaryDirectory("outpost-sim-cache") { dir in
            let archive = dir + "/busybox.tar"
            try Podman.busyboxImage(archive: archive, cmd: "echo from-the-cache")
            let cache = try Self.makeImageCache(archive: archive, registryDir: "registry.example_5000_", repo: "team/tool",
                                                tag: "1.2", in: dir)
            try await withSimulator(nodes: ["plain-node", "ssd-node,label=disk=ssd,taint=dedicated=ssd:NoSchedule"],
                                    arguments: ["--image-cache", cache]) { sim in
                try sim.apply("""
                apiVersion: v1
                kind: Pod
                metadata: {name: cached}
                spec:
                  restartPolicy: Never
                  nodeSelector: {disk: ssd}
                  tolerations: [{key: dedicated, operator: Equal, value: ssd, effect: NoSchedule}]
                  containers: [{name: main, image: "registry.example:5000/team/tool:1.2", imagePullPolicy: Never}]
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: intolerant}
                spec:
                  nodeSelector: {disk: ssd}
                  containers: [{name: main, image: "registry.example:5000/team/tool:1.2", imagePullPolicy: Never}]
                """)
                try await sim.waitUntil("the cached image to run", timeout: 90) {
                    try sim.kubectl(["get", "pod", "cached", "-o", "jsonpath={.status.phase}"]).out == "Succeeded"
                }
                #expect(try sim.kubectl(["get", "pod", "cached", "-o", "jsonpath={.spec.nodeName}"], check: true).out == "ssd-node")
                #expect(try sim.kubectl(["logs", "cached"], check: true).out.contains("from-the-cache"))
                try await sim.waitUntil("the intolerant pod to be unschedulable") {
                    try sim.kubectl(["get", "pod", "intolerant", "-o", "jsonpath={.status.conditions[0].reason}"]).out == "Unschedulable"
                }
                #expect(try sim.kubectl(["get", "pod", "intolerant", "-o", "jsonpath={.spec.nodeName}"]).out.isEmpty)
            }
        }
    }
}
