import Admission
import Foundation
import OCI
import OutpostCore
import Testing
import TestSupport

/// Pods: the examples of zarf-compat.md and the skip rules, each patch applied by Python's jsonpatch.
@Suite struct PodMutationTests {
    static let target = "127.0.0.1:31999"

    /// zarf-compat.md "Image reference transform" examples, run through a whole Pod.
    static let compatExamples: [(String, String)] = [
        ("nginx", "127.0.0.1:31999/library/nginx:latest-zarf-3793515731"),
        ("ghcr.io/stefanprodan/podinfo:6.3.3", "127.0.0.1:31999/stefanprodan/podinfo:6.3.3-zarf-2985051089"),
        ("busybox:latest@sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79",
         "127.0.0.1:31999/library/busybox@sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79"),
        // host-prefix rule: already on the internal registry, left exactly as written
        ("127.0.0.1:31999/library/nginx:1.27-zarf-3793515731", "127.0.0.1:31999/library/nginx:1.27-zarf-3793515731"),
        ("127.0.0.1:31999/library/nginx", "127.0.0.1:31999/library/nginx"),
        ("docker.io/library/alpine:3.20", "127.0.0.1:31999/library/alpine:3.20-zarf-\(CRC32.checksum("docker.io/library/alpine"))"),
        ("registry.k8s.io/pause:3.10", "127.0.0.1:31999/pause:3.10-zarf-\(CRC32.checksum("registry.k8s.io/pause"))"),
        ("localhost:5000/team/app:v1", "127.0.0.1:31999/team/app:v1-zarf-\(CRC32.checksum("localhost:5000/team/app"))"),
    ]

    @Test(arguments: compatExamples)
    func compatExampleImage(original: String, expected: String) throws {
        let pod: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": "p"],
                              "spec": ["containers": [["name": "app", "image": .string(original)]]]]
        let out = try PatchHarness.run(.pod, pod)
        #expect(out.allowed)
        let expectedPod: JSONValue = [
            "apiVersion": "v1", "kind": "Pod",
            "metadata": ["name": "p", "labels": ["zarf-agent": "patched"],
                         "annotations": ["zarf.dev/original-image-app": .string(original)]],
            "spec": ["containers": [["name": "app", "image": .string(expected)]],
                     "imagePullSecrets": [["name": "private-registry"]]],
        ]
        #expect(out.patched == expectedPod)
    }

    @Test func everyContainerKindAndImageVolume() throws {
        let pod: JSONValue = [
            "apiVersion": "v1", "kind": "Pod",
            "metadata": ["generateName": "web-", "labels": ["app": "web"], "annotations": ["team": "a"]],
            "spec": [
                "imagePullSecrets": [["name": "dockerhub"]],
                "initContainers": [["name": "init", "image": "busybox:1.36"]],
                "containers": [["name": "web", "image": "nginx:1.27"], ["name": "sidecar", "image": "ghcr.io/stefanprodan/podinfo:6.3.3"]],
                "ephemeralContainers": [["name": "debug", "image": "alpine"]],
                "volumes": [["name": "data", "emptyDir": [:]], ["name": "models", "image": ["reference": "quay.io/org/models:v2", "pullPolicy": "IfNotPresent"]]],
            ],
        ]
        let out = try PatchHarness.run(.pod, pod)
        let t = { (n: String, tag: String) in "127.0.0.1:31999/\(n.split(separator: "/", maxSplits: 1).last!):\(tag)-zarf-\(CRC32.checksum(n))" }
        let expected: JSONValue = [
            "apiVersion": "v1", "kind": "Pod",
            "metadata": ["generateName": "web-", "labels": ["app": "web", "zarf-agent": "patched"],
                         "annotations": ["team": "a",
                                         "zarf.dev/original-image-init": "busybox:1.36",
                                         "zarf.dev/original-image-web": "nginx:1.27",
                                         "zarf.dev/original-image-sidecar": "ghcr.io/stefanprodan/podinfo:6.3.3",
                                         "zarf.dev/original-image-debug": "alpine",
                                         "zarf.dev/original-volume-models": "quay.io/org/models:v2"]],
            "spec": [
                "imagePullSecrets": [["name": "private-registry"]],
                "initContainers": [["name": "init", "image": .string(t("docker.io/library/busybox", "1.36"))]],
                "containers": [["name": "web", "image": .string(t("docker.io/library/nginx", "1.27"))],
                               ["name": "sidecar", "image": "127.0.0.1:31999/stefanprodan/podinfo:6.3.3-zarf-2985051089"]],
                "ephemeralContainers": [["name": "debug", "image": .string(t("docker.io/library/alpine", "latest"))]],
                "volumes": [["name": "data", "emptyDir": [:]],
                            ["name": "models", "image": ["reference": .string(t("quay.io/org/models", "v2")), "pullPolicy": "IfNotPresent"]]],
            ],
        ]
        #expect(out.patched == expected)
    }

    @Test func podWithoutMetadataGetsOne() throws {
        let pod: JSONValue = ["spec": ["containers": [["name": "a", "image": "nginx"]]]]
        let out = try PatchHarness.run(.pod, pod)
        #expect(out.patched?["metadata"] == ["labels": ["zarf-agent": "patched"], "annotations": ["zarf.dev/original-image-a": "nginx"]])
    }

    @Test func longContainerNameAnnotationIsCutTo63AndTrimmed() throws {
        // "original-image-" is 15 characters: a name whose 48th character is '-' leaves a trailing dash to trim.
        let name = String(repeating: "a", count: 47) + "-bbbbbbbb"
        let pod: JSONValue = ["metadata": [:], "spec": ["containers": [["name": .string(name), "image": "nginx"]]]]
        let out = try PatchHarness.run(.pod, pod)
        let keys = out.patched?["metadata"]?["annotations"]?.objectValue?.keys.sorted() ?? []
        #expect(keys == ["zarf.dev/original-image-" + String(repeating: "a", count: 47)])
    }

    @Test func alreadyPatchedPodIsLeftAlone() throws {
        let pod: JSONValue = ["metadata": ["labels": ["zarf-agent": "patched"]], "spec": ["containers": [["name": "a", "image": "nginx"]]]]
        let out = try PatchHarness.run(.pod, pod)
        #expect(out.allowed)
        #expect(out.patch == nil)
    }

    @Test(arguments: ["skip", "ignore"])
    func optOutLabelOnObject(value: String) throws {
        let pod: JSONValue = ["metadata": ["labels": ["zarf.dev/agent": .string(value)]], "spec": ["containers": [["name": "a", "image": "nginx"]]]]
        let out = try PatchHarness.run(.pod, pod)
        #expect(out.allowed && out.patch == nil)
    }

    @Test func optOutLabelOnNamespace() throws {
        let pod: JSONValue = ["metadata": [:], "spec": ["containers": [["name": "a", "image": "nginx"]]]]
        let out = try PatchHarness.run(.pod, pod, namespaceLabels: ["zarf.dev/agent": "ignore"])
        #expect(out.allowed && out.patch == nil)
        // the object's own label wins over the namespace's
        let optedIn: JSONValue = ["metadata": ["labels": ["zarf.dev/agent": "mutate"]], "spec": ["containers": [["name": "a", "image": "nginx"]]]]
        #expect(try PatchHarness.run(.pod, optedIn, namespaceLabels: ["zarf.dev/agent": "ignore"]).patch != nil)
    }

    @Test func labeledPolicyNeedsTheMutateOptIn() throws {
        let config = AgentConfig(policy: .labeled)
        let plain: JSONValue = ["metadata": [:], "spec": ["containers": [["name": "a", "image": "nginx"]]]]
        #expect(try PatchHarness.run(.pod, plain, config: config).patch == nil)
        let labeled: JSONValue = ["metadata": ["labels": ["zarf.dev/agent": "mutate"]], "spec": ["containers": [["name": "a", "image": "nginx"]]]]
        let out = try PatchHarness.run(.pod, labeled, config: config)
        #expect(out.patched?["spec"]?["containers"]?[0]?["image"]?.stringValue == "127.0.0.1:31999/library/nginx:latest-zarf-3793515731")
        #expect(try PatchHarness.run(.pod, plain, config: config, namespaceLabels: ["zarf.dev/agent": "mutate"]).patch != nil)
    }

    @Test func ephemeralContainersSubresource() throws {
        let pod: JSONValue = [
            "metadata": ["name": "p", "labels": ["zarf-agent": "patched"], "annotations": ["zarf.dev/original-image-a": "nginx"]],
            "spec": ["containers": [["name": "a", "image": "127.0.0.1:31999/library/nginx:latest-zarf-3793515731"]],
                     "ephemeralContainers": [["name": "dbg", "image": "busybox"]]],
        ]
        let out = try PatchHarness.run(.pod, pod, operation: "UPDATE", subResource: "ephemeralcontainers")
        var expected = pod
        expected["spec"]?["ephemeralContainers"] = [["name": "dbg", "image": .string("127.0.0.1:31999/library/busybox:latest-zarf-\(CRC32.checksum("docker.io/library/busybox"))")]]
        expected["metadata"]?["annotations"] = ["zarf.dev/original-image-a": "nginx", "zarf.dev/original-image-dbg": "busybox"]
        #expect(out.patched == expected)
    }

    @Test func deniedWithAClearMessage() throws {
        let cases: [(JSONValue, String?, String)] = [
            (["metadata": [:], "spec": ["containers": [["name": "a"]]]], nil, "spec.containers[0].image"),
            (["metadata": [:], "spec": ["containers": [["name": "a", "image": "Not/A:Valid:Ref"]]]], nil, "Not/A:Valid:Ref"),
            (["metadata": [:], "spec": ["volumes": [["name": "v", "image": ["reference": ""]]]]], nil, "spec.volumes[0].image.reference"),
            (["metadata": [:]], nil, "spec"),
            (["metadata": [:], "spec": [:]], "status", "unsupported subresource: status"),
        ]
        for (pod, sub, needle) in cases {
            let out = try PatchHarness.run(.pod, pod, subResource: sub)
            #expect(!out.allowed)
            #expect(out.patch == nil)
            #expect(out.message.contains(needle), "message \"\(out.message)\" should name \(needle)")
            #expect(out.response["response"]?["status"]?["code"]?.intValue == 403)
        }
    }

    @Test func otherOperationsAreAllowedUnchanged() throws {
        let pod: JSONValue = ["metadata": [:], "spec": ["containers": [["name": "a", "image": "nginx"]]]]
        for op in ["DELETE", "CONNECT"] {
            let out = try PatchHarness.run(.pod, pod, operation: op)
            #expect(out.allowed && out.patch == nil)
        }
    }

    @Test func v1beta1ReviewIsAnsweredInKind() throws {
        let pod: JSONValue = ["metadata": [:], "spec": ["containers": [["name": "a", "image": "nginx"]]]]
        let out = try PatchHarness.run(.pod, pod, apiVersion: "admission.k8s.io/v1beta1")
        #expect(out.response["apiVersion"]?.stringValue == "admission.k8s.io/v1beta1")
        #expect(out.patched?["spec"]?["containers"]?[0]?["image"]?.stringValue == "127.0.0.1:31999/library/nginx:latest-zarf-3793515731")
    }

    @Test func otherRegistryTarget() throws {
        let config = AgentConfig(registryAddress: "registry.example.com:5000")
        let pod: JSONValue = ["metadata": [:], "spec": ["containers": [
            ["name": "a", "image": "nginx"], ["name": "b", "image": "registry.example.com:5000/x/y:1"]]]]
        let out = try PatchHarness.run(.pod, pod, config: config)
        #expect(out.patched?["spec"]?["containers"]?[0]?["image"]?.stringValue == "registry.example.com:5000/library/nginx:latest-zarf-3793515731")
        #expect(out.patched?["spec"]?["containers"]?[1]?["image"]?.stringValue == "registry.example.com:5000/x/y:1")
    }
}
