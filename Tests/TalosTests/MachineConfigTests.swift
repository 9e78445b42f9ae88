import Foundation
import OutpostCore
import Talos
import TestSupport
import Testing

@Suite("Machine configs")
struct MachineConfigTests {
    let site: Site
    let generator: MachineConfigGenerator

    init() throws {
        site = try decodeSite()
        generator = MachineConfigGenerator(site: site, secrets: sharedBundle, packageRegistries: ["quay.io", "ghcr.io"],
                                           agentManifests: "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: outpost-agent, namespace: zarf}\n")
    }

    func docs(_ name: String) -> [JSONValue] { generator.documents(for: site.nodes.first { $0.name == name }!) }
    func doc(_ docs: [JSONValue], kind: String, name: String? = nil) -> JSONValue? {
        docs.first { $0["kind"]?.stringValue == kind && (name == nil || $0["name"]?.stringValue == name) }
    }

    @Test func everyDocumentValidatesAgainstTheTalosSchema() throws {
        for mode in MachineConfigGenerator.BootstrapMode.allCases {
            var g = generator
            g.bootstrapMode = mode
            for node in site.nodes {
                // through YAML and back, as a node reads it
                let yaml = try YAMLDocuments.render(g.documents(for: node))
                var documents = try YAMLDocuments.parse(yaml, file: node.name)
                #expect(documents.count >= 10)
                let isInit = documents[0]["machine"]?["type"] == "init"
                #expect(isInit == (node.bootstrap && mode == .initType))
                if isInit {
                    // The single documented deviation: the schema no longer lists `init`.
                    let raw = try schemaErrors([documents[0]])[0]
                    #expect(raw == ["machine/type: 'init' is not one of ['controlplane', 'worker']"])
                    documents[0]["machine"]?["type"] = "controlplane"
                }
                let errors = try schemaErrors(documents)
                for (i, e) in errors.enumerated() {
                    #expect(e.isEmpty, "\(node.name) document \(i) (\(documents[i]["kind"]?.stringValue ?? "v1alpha1")): \(e)")
                }
            }
        }
    }

    @Test func schemaCheckCatchesBadDocuments() throws {
        // the validator itself must fail on what Talos rejects, or the test above proves nothing
        var bad = docs("cp-1")
        bad[0]["machine"]?["persist"] = true
        bad[1]["hostnme"] = "x"
        let errors = try schemaErrors(Array(bad.prefix(2)))
        #expect(errors[0].contains { $0.contains("persist") })
        #expect(errors[1].contains { $0.contains("hostnme") })
    }

    @Test func bootstrapNodeStartsEtcdAndOthersDoNot() throws {
        #expect(docs("cp-1")[0]["machine"]?["type"] == "init")
        #expect(docs("worker-1")[0]["machine"]?["type"] == "worker")
        var g = generator
        g.bootstrapMode = .apiCall
        #expect(g.documents(for: site.nodes[0])[0]["machine"]?["type"] == "controlplane")
        // a second control plane joins rather than bootstrapping
        var s = site
        s.nodes.append(Site.Node(name: "cp-2", role: .controlplane, interface: .init(mac: "52:54:00:00:00:09", addresses: ["10.20.0.12/24"])))
        let g2 = MachineConfigGenerator(site: s, secrets: sharedBundle)
        #expect(g2.documents(for: s.nodes[2])[0]["machine"]?["type"] == "controlplane")
    }

    @Test func airGapSettings() throws {
        for name in ["cp-1", "worker-1"] {
            let d = docs(name)
            let main = d[0]
            #expect(main["version"] == "v1alpha1")
            #expect(main["machine"]?["persist"] == nil)
            #expect(main["cluster"]?["discovery"]?["enabled"] == false)
            #expect(main["machine"]?["features"]?["imageCache"]?["localEnabled"] == true)
            #expect(main["machine"]?["install"]?["image"] == "ghcr.io/siderolabs/installer:v1.13.9")
            #expect(doc(d, kind: "VolumeConfig", name: "IMAGECACHE")?["provisioning"]?["diskSelector"]?["match"] == "system_disk")
            #expect(doc(d, kind: "ResolverConfig")?["nameservers"] == [["address": "10.20.0.1"]])
            #expect(doc(d, kind: "TimeSyncConfig")?["ntp"]?["servers"] == ["10.20.0.1"])
            #expect(doc(d, kind: "HostnameConfig")?["hostname"] == .string(name))
            for deprecated in ["network", "time", "registries"] { #expect(main["machine"]?[deprecated] == nil) }
        }
    }

    @Test func registryMirrorsPointAtTheInClusterRegistry() throws {
        let mirrors = docs("worker-1").filter { $0["kind"] == "RegistryMirrorConfig" }
        #expect(mirrors.compactMap { $0["name"]?.stringValue } ==
                ["docker.io", "ghcr.io", "quay.io", "registry.k8s.io", "127.0.0.1:31999", "*"])
        for m in mirrors {
            #expect(m["skipFallback"] == true)
            #expect(m["endpoints"] == [["url": "http://127.0.0.1:31999"]])
        }
    }

    @Test func staticNetworkingPerNode() throws {
        let d = docs("worker-1")
        let alias = doc(d, kind: "LinkAliasConfig")
        #expect(alias?["name"] == "site0")
        #expect(alias?["selector"]?["match"] == "mac(link.permanent_addr) == \"52:54:00:12:34:57\"")
        let link = doc(d, kind: "LinkConfig", name: "site0")
        #expect(link?["addresses"] == [["address": "10.20.0.21/24"]])
        #expect(link?["routes"] == [["gateway": "10.20.0.1"]])
        #expect(d[0]["machine"]?["kubelet"]?["nodeIP"]?["validSubnets"] == ["10.20.0.0/24"])
        #expect(d[0]["machine"]?["install"]?["disk"] == "/dev/nvme0n1")
    }

    @Test func localhostNodePortsWork() throws {
        let cp = docs("cp-1")[0]
        #expect(cp["cluster"]?["proxy"]?["mode"] == "iptables")
        #expect(cp["cluster"]?["proxy"]?["image"] == "registry.k8s.io/kube-proxy:v1.36.3")
        for name in ["cp-1", "worker-1"] {
            #expect(docs(name)[0]["machine"]?["sysctls"]?["net.ipv4.conf.all.route_localnet"] == "1")
        }
    }

    @Test func controlPlaneCarriesSecretsWorkerDoesNot() throws {
        let cp = docs("cp-1")[0], w = docs("worker-1")[0]
        let b = sharedBundle
        func b64(_ s: String) -> JSONValue { .string(Data(s.utf8).base64EncodedString()) }
        #expect(cp["machine"]?["ca"] == ["crt": b64(b.os.certificate), "key": b64(b.os.key)])
        #expect(cp["cluster"]?["ca"] == ["crt": b64(b.k8s.certificate), "key": b64(b.k8s.key)])
        #expect(cp["cluster"]?["aggregatorCA"]?["key"] == b64(b.k8sAggregator.key))
        #expect(cp["cluster"]?["serviceAccount"]?["key"] == b64(b.k8sServiceAccountKey))
        #expect(cp["cluster"]?["etcd"]?["ca"]?["key"] == b64(b.etcd.key))
        #expect(cp["cluster"]?["secretboxEncryptionSecret"] == .string(b.secretboxEncryptionSecret))
        #expect(cp["machine"]?["token"] == .string(b.trustdToken))
        #expect(cp["cluster"]?["token"] == .string(b.bootstrapToken))
        #expect(w["machine"]?["ca"] == ["crt": b64(b.os.certificate)])
        #expect(w["cluster"]?["ca"] == ["crt": b64(b.k8s.certificate)])
        for key in ["aggregatorCA", "serviceAccount", "etcd", "secretboxEncryptionSecret", "apiServer",
                    "controllerManager", "scheduler", "proxy", "inlineManifests"] {
            #expect(w["cluster"]?[key] == nil, "worker must not carry cluster.\(key)")
        }
        let yaml = try YAMLDocuments.render(docs("worker-1"))
        #expect(!yaml.contains(Data(b.os.key.utf8).base64EncodedString()))
    }

    @Test func inlineManifestsHoldOutpostFirstBootObjects() throws {
        let manifests = docs("cp-1")[0]["cluster"]?["inlineManifests"]?.arrayValue ?? []
        #expect(manifests.compactMap { $0["name"]?.stringValue } == ["outpost-namespaces", "outpost-agent"])
        let ns = try YAMLDocuments.parse(manifests[0]["contents"]?.stringValue ?? "", file: "ns")
        #expect(ns.count == 1)
        #expect(ns[0]["kind"] == "Namespace" && ns[0]["metadata"]?["name"] == "zarf")
        #expect(ns[0]["metadata"]?["labels"]?["zarf.dev/agent"] == "ignore")
        let agent = try YAMLDocuments.parse(manifests[1]["contents"]?.stringValue ?? "", file: "agent")
        #expect(agent[0]["metadata"]?["name"] == "outpost-agent")
        // without agent objects the slot is left out rather than filled with something invented
        let plain = MachineConfigGenerator(site: site, secrets: sharedBundle)
        #expect(plain.documents(for: site.nodes[0])[0]["cluster"]?["inlineManifests"]?.arrayValue?.count == 1)
    }

    @Test func clusterSettingsFollowTheSite() throws {
        let c = docs("cp-1")[0]["cluster"]
        #expect(c?["clusterName"] == "windfarm-7")
        #expect(c?["controlPlane"]?["endpoint"] == "https://10.20.0.10:6443")
        #expect(c?["network"]?["podSubnets"] == ["10.244.0.0/16"])
        #expect(c?["network"]?["serviceSubnets"] == ["10.96.0.0/12"])
        #expect(c?["allowSchedulingOnControlPlanes"] == false)
        #expect(c?["id"] == .string(sharedBundle.clusterID))
    }

    @Test func singleNodeSiteWithoutTimeServers() throws {
        let yaml = """
            apiVersion: outpost.dev/v1alpha1
            kind: Site
            metadata: {name: solo}
            cluster: {endpoint: "https://10.0.0.5:6443"}
            nodes:
              - {name: n1, role: controlplane, bootstrap: true, interface: {mac: "AA:BB:CC:DD:EE:FF", addresses: [10.0.0.5/24]}}
            """
        let site = try decodeSite(yaml)
        let d = MachineConfigGenerator(site: site, secrets: sharedBundle).documents(for: site.nodes[0])
        #expect(doc(d, kind: "TimeSyncConfig") == ["apiVersion": "v1alpha1", "kind": "TimeSyncConfig", "enabled": false])
        #expect(doc(d, kind: "ResolverConfig") == nil)
        #expect(doc(d, kind: "LinkConfig")?["routes"] == nil)
        #expect(doc(d, kind: "LinkAliasConfig")?["selector"]?["match"] == "mac(link.permanent_addr) == \"aa:bb:cc:dd:ee:ff\"")
        #expect(d[0]["cluster"]?["allowSchedulingOnControlPlanes"] == true)
        var docs = d
        docs[0]["machine"]?["type"] = "controlplane"
        let errors = try schemaErrors(docs)
        #expect(errors.filter { !$0.isEmpty }.isEmpty, "\(errors)")
    }

    @Test func shippedExamplePatchesApplyAndStayValid() throws {
        let dir = repositoryRoot() + "/talos/patches"
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.count >= 4)
        var g = generator
        g.bootstrapMode = .apiCall
        for f in files {
            let patch = try TalosFiles.loadPatch("\(dir)/\(f)")
            let docs = try patch.patch.apply(to: g.documents(for: site.nodes[0]), file: f)
            let errors = try schemaErrors(docs)
            #expect(errors.filter { !$0.isEmpty }.isEmpty, "\(f): \(errors)")
            if f == "delete-time-sync.yaml" { #expect(doc(docs, kind: "TimeSyncConfig") == nil) }
        }
    }

    @Test func renderedYAMLQuotesAmbiguousStrings() throws {
        let yaml = try YAMLDocuments.render([["a": "1", "b": "true", "c": "", "d": "null", "e": "multi\nline\n", "f": 1]])
        let back = try YAMLDocuments.parse(yaml, file: "x")
        #expect(back == [["a": "1", "b": "true", "c": "", "d": "null", "e": "multi\nline\n", "f": 1]])
    }
}

@Suite("talosconfig")
struct TalosconfigTests {
    @Test func adminCertificateChainsToTheOSCA() throws {
        let site = try decodeSite()
        let text = try Talosconfig.make(site: site, secrets: sharedBundle)
        let doc = try YAMLDocuments.parse(text, file: "talosconfig")[0]
        #expect(doc["context"] == "windfarm-7")
        let ctx = doc["contexts"]?["windfarm-7"]
        #expect(ctx?["endpoints"] == ["10.20.0.11"])
        #expect(ctx?["nodes"] == ["10.20.0.11"])
        func pem(_ key: String) -> String { String(decoding: Data(base64Encoded: ctx?[key]?.stringValue ?? "") ?? Data(), as: UTF8.self) }
        #expect(pem("ca") == sharedBundle.os.certificate)
        #expect(pem("key").hasPrefix("-----BEGIN ED25519 PRIVATE KEY-----"))
        try withTemporaryDirectorySync { dir in
            try write(pem("ca"), "\(dir)/ca.crt")
            try write(pem("crt"), "\(dir)/admin.crt")
            try write(pem("key").replacingOccurrences(of: "ED25519 PRIVATE KEY", with: "PRIVATE KEY"), "\(dir)/admin.key")
            #expect(try openssl(["verify", "-CAfile", "\(dir)/ca.crt", "\(dir)/admin.crt"]).contains("admin.crt: OK"))
            let text = try openssl(["x509", "-in", "\(dir)/admin.crt", "-noout", "-text"])
            #expect(text.contains("Public Key Algorithm: ED25519"))
            #expect(text.contains("TLS Web Client Authentication"))
            #expect(!text.contains("TLS Web Server Authentication"))
            #expect(text.contains("CA:FALSE"))
            let subject = try openssl(["x509", "-in", "\(dir)/admin.crt", "-noout", "-subject", "-issuer", "-nameopt", "RFC2253"])
            #expect(subject == "subject=O=os:admin\nissuer=O=talos\n")
            #expect(try validityHours("\(dir)/admin.crt") == 8_760)
            #expect(try openssl(["pkey", "-in", "\(dir)/admin.key", "-pubout"]) ==
                    (try openssl(["x509", "-in", "\(dir)/admin.crt", "-noout", "-pubkey"])))
        }
    }
}
