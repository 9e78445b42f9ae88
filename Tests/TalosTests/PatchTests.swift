import Foundation
import OutpostCore
import Talos
import TestSupport
import Testing

@Suite("Config patches (Talos rules)")
struct PatchTests {
    let base: [JSONValue] = [
        ["version": "v1alpha1",
         "machine": ["type": "worker", "nodeLabels": ["a": "1"], "certSANs": ["10.0.0.1"],
                     "network": ["interfaces": [["interface": "eth0", "mtu": 1500, "addresses": ["10.0.0.1/24"]],
                                                ["deviceSelector": ["hardwareAddr": "aa:*"], "dhcp": true]]]],
         "cluster": ["network": ["podSubnets": ["10.244.0.0/16"], "serviceSubnets": ["10.96.0.0/12"]],
                     "apiServer": ["certSANs": ["a.example"]]]],
        ["apiVersion": "v1alpha1", "kind": "RegistryMirrorConfig", "name": "docker.io",
         "endpoints": [["url": "http://127.0.0.1:31999"]], "skipFallback": true],
        ["apiVersion": "v1alpha1", "kind": "RegistryMirrorConfig", "name": "ghcr.io",
         "endpoints": [["url": "http://127.0.0.1:31999"]]],
        ["apiVersion": "v1alpha1", "kind": "TimeSyncConfig", "enabled": true],
    ]

    func apply(_ yaml: String, to docs: [JSONValue]? = nil) throws -> [JSONValue] {
        try ConfigPatch.parse(yaml, file: "p.yaml").apply(to: docs ?? base, file: "p.yaml")
    }

    @Test func mapsMergeDeeply() throws {
        let out = try apply("machine:\n  nodeLabels: {b: '2'}\n  kubelet: {extraArgs: {v: '2'}}\n")
        #expect(out[0]["machine"]?["nodeLabels"] == ["a": "1", "b": "2"])
        #expect(out[0]["machine"]?["kubelet"]?["extraArgs"]?["v"] == "2")
        #expect(out[0]["machine"]?["type"] == "worker")
        #expect(Array(out.dropFirst()) == Array(base.dropFirst()))
    }

    @Test func scalarsReplace() throws {
        let out = try apply("machine: {type: controlplane}\n")
        #expect(out[0]["machine"]?["type"] == "controlplane")
    }

    @Test func listsAppend() throws {
        let out = try apply("machine: {certSANs: [10.0.0.2]}\ncluster: {apiServer: {certSANs: [b.example]}}\n")
        #expect(out[0]["machine"]?["certSANs"] == ["10.0.0.1", "10.0.0.2"])
        #expect(out[0]["cluster"]?["apiServer"]?["certSANs"] == ["a.example", "b.example"])
    }

    @Test func subnetListsAreReplaced() throws {
        let out = try apply("cluster:\n  network:\n    podSubnets: [10.32.0.0/16]\n    serviceSubnets: [10.33.0.0/16]\n")
        #expect(out[0]["cluster"]?["network"]?["podSubnets"] == ["10.32.0.0/16"])
        #expect(out[0]["cluster"]?["network"]?["serviceSubnets"] == ["10.33.0.0/16"])
    }

    @Test func interfacesMergeByInterfaceOrDeviceSelector() throws {
        let out = try apply("""
            machine:
              network:
                interfaces:
                  - interface: eth0
                    mtu: 9000
                    addresses: [10.0.0.9/24]
                  - deviceSelector: {hardwareAddr: "aa:*"}
                    dhcp: false
                  - interface: eth1
                    dhcp: true
            """)
        let ifaces = out[0]["machine"]?["network"]?["interfaces"]?.arrayValue ?? []
        #expect(ifaces.count == 3)
        #expect(ifaces[0] == ["interface": "eth0", "mtu": 9000, "addresses": ["10.0.0.1/24", "10.0.0.9/24"]])
        #expect(ifaces[1]["dhcp"] == false)
        #expect(ifaces[2] == ["interface": "eth1", "dhcp": true])
    }

    @Test func patchDeleteRemovesKeysItemsAndDocuments() throws {
        let out = try apply("""
            machine:
              nodeLabels: {$patch: delete}
              network:
                interfaces:
                  - interface: eth0
                    $patch: delete
            ---
            apiVersion: v1alpha1
            kind: RegistryMirrorConfig
            name: ghcr.io
            $patch: delete
            """)
        #expect(out[0]["machine"]?["nodeLabels"] == nil)
        #expect(out[0]["machine"]?["network"]?["interfaces"]?.arrayValue?.count == 1)
        #expect(out.count == 3)
        #expect(!out.contains { $0["name"] == "ghcr.io" })
        #expect(out.contains { $0["name"] == "docker.io" })
        #expect(throws: TalosError.self) { try apply("apiVersion: v1alpha1\nkind: VolumeConfig\nname: NOPE\n$patch: delete\n") }
    }

    @Test func documentsMatchByAPIVersionKindAndName() throws {
        let out = try apply("""
            apiVersion: v1alpha1
            kind: RegistryMirrorConfig
            name: docker.io
            endpoints: [{url: "http://10.0.0.5:5000"}]
            ---
            apiVersion: v1alpha1
            kind: RegistryMirrorConfig
            name: quay.io
            skipFallback: true
            ---
            apiVersion: v1alpha1
            kind: TimeSyncConfig
            enabled: false
            """)
        #expect(out.count == 5)
        let docker = out.first { $0["name"] == "docker.io" }
        #expect(docker?["endpoints"] == [["url": "http://127.0.0.1:31999"], ["url": "http://10.0.0.5:5000"]])
        #expect(out.first { $0["name"] == "ghcr.io" }?["skipFallback"] == nil)
        #expect(out.last == ["apiVersion": "v1alpha1", "kind": "RegistryMirrorConfig", "name": "quay.io", "skipFallback": true])
        #expect(out.first { $0["kind"] == "TimeSyncConfig" }?["enabled"] == false)
    }

    @Test func jsonPatchAppliesToSingleDocumentConfigs() throws {
        let patch = """
            - {op: add, path: /machine/nodeLabels/b, value: "2"}
            - {op: replace, path: /machine/type, value: controlplane}
            - {op: remove, path: /machine/certSANs/0}
            - {op: test, path: /version, value: v1alpha1}
            - {op: copy, from: /machine/type, path: /machine/role}
            - {op: move, from: /machine/role, path: /machine/role2}
            """
        let out = try apply(patch, to: [base[0]])
        #expect(out.count == 1)
        #expect(out[0]["machine"]?["nodeLabels"] == ["a": "1", "b": "2"])
        #expect(out[0]["machine"]?["type"] == "controlplane")
        #expect(out[0]["machine"]?["certSANs"] == [])
        #expect(out[0]["machine"]?["role"] == nil)
        #expect(out[0]["machine"]?["role2"] == "controlplane")
    }

    @Test func jsonPatchIsRefusedOnMultiDocumentConfigs() throws {
        do {
            _ = try apply("- {op: add, path: /machine/nodeLabels/b, value: '2'}\n")
            Issue.record("expected a refusal")
        } catch {
            #expect("\(error)".contains("RFC 6902 JSON patches apply only to single-document configs; this config has 4 documents"))
        }
    }

    @Test func jsonPatchFailuresNameTheOperation() throws {
        do {
            _ = try apply("- {op: test, path: /version, value: v1alpha1}\n- {op: remove, path: /machine/nope}\n", to: [base[0]])
            Issue.record("expected a failure")
        } catch {
            #expect("\(error)".contains("p.yaml: JSON patch operation 1: path /machine/nope does not exist"))
        }
        do {
            _ = try ConfigPatch.parse("- {op: jump, path: /x}\n", file: "p.yaml")
            Issue.record("expected a failure")
        } catch {
            #expect("\(error)".contains("operation 0: unknown op \"jump\""))
        }
        #expect(throws: TalosError.self) { try ConfigPatch.parse("- just\n- a list\n", file: "p.yaml") }
    }

    @Test func sitePatchesApplyInOrderToGeneratedConfigs() throws {
        let site = try decodeSite()
        let g = MachineConfigGenerator(site: site, secrets: sharedBundle)
        let label = { (v: String) in NamedPatch(file: v, patch: try! ConfigPatch.parse("machine: {nodeLabels: {order: \(v)}}\n", file: v)) }
        let b = SiteConfigBuilder(generator: g, all: [label("all")], controlplane: [label("cp")], worker: [label("w")],
                                  perNode: ["worker-1": [label("node")]], commandLine: [label("cli")])
        #expect(try b.documents(for: site.nodes[0])[0]["machine"]?["nodeLabels"]?["order"] == "cli")
        let noCLI = SiteConfigBuilder(generator: g, all: [label("all")], controlplane: [label("cp")], worker: [label("w")],
                                      perNode: ["worker-1": [label("node")]])
        #expect(try noCLI.documents(for: site.nodes[0])[0]["machine"]?["nodeLabels"]?["order"] == "cp")
        #expect(try noCLI.documents(for: site.nodes[1])[0]["machine"]?["nodeLabels"]?["order"] == "node")
        // patched configs still validate
        let docs = try noCLI.documents(for: site.nodes[1])
        let errors = try schemaErrors(docs)
        #expect(errors.filter { !$0.isEmpty }.isEmpty, "\(errors)")
    }
}
