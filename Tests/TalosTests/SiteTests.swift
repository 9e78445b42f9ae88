import Foundation
import Talos
import TestSupport
import Testing

@Suite("Site definition")
struct SiteTests {
    @Test func exampleSiteIsValid() throws {
        let site = try TalosFiles.loadSite(exampleSitePath)
        #expect(site.name == "windfarm-7")
        #expect(site.nodes.map(\.name) == ["cp-1", "worker-1"])
        #expect(site.bootstrapNode?.name == "cp-1")
        #expect(site.talos.assets == .iso("assets/metal-amd64.iso"))
        #expect(site.nodes[1].installDisk == "/dev/nvme0n1")
        #expect(site.patches.all == ["patches/site-labels.yaml"])
    }

    @Test func defaultsApplyWhenOmitted() throws {
        let yaml = """
            apiVersion: outpost.dev/v1alpha1
            kind: Site
            metadata: {name: tiny}
            cluster: {endpoint: "https://10.0.0.5:6443"}
            nodes:
              - {name: n1, role: controlplane, bootstrap: true, interface: {mac: "aa:bb:cc:dd:ee:ff", addresses: [10.0.0.5/24]}}
            """
        let site = try decodeSite(yaml)
        #expect(site.talos.version == "v1.13.9")
        #expect(site.talos.installerImage == "ghcr.io/siderolabs/installer:v1.13.9")
        #expect(site.cluster.podSubnets == ["10.244.0.0/16"])
        #expect(site.cluster.serviceSubnets == ["10.96.0.0/12"])
        #expect(site.nodes[0].installDisk == "/dev/sda")
        #expect(site.registry.nodePort == 31999)
    }

    @Test func unknownKeyIsRejectedWithItsLine() {
        let yaml = validSiteYAML.replacingOccurrences(of: "    installDisk: /dev/sda\n", with: "    installDisk: /dev/sda\n    instalDisk: /dev/sdb\n")
        let found = issues(of: yaml)
        #expect(found.count == 1)
        #expect(found.first?.key == "nodes[0].instalDisk")
        #expect(found.first?.reason.contains("unknown key") == true)
        #expect(found.first?.line == 19)
        #expect(found.first?.description.hasPrefix("site.yaml:19:") == true)
    }

    @Test func unknownTopLevelAndNestedKeys() {
        let yaml = validSiteYAML + "extras: {}\n"
        #expect(issues(of: yaml).map(\.key) == ["extras"])
        let nested = validSiteYAML.replacingOccurrences(of: "network: {nameservers", with: "network: {dns: [1.1.1.1], nameservers")
        #expect(issues(of: nested).map(\.key) == ["network.dns"])
    }

    @Test func missingEndpoint() {
        let yaml = validSiteYAML.replacingOccurrences(of: "  endpoint: https://10.20.0.10:6443\n", with: "")
        let found = issues(of: yaml)
        #expect(found.map(\.key) == ["cluster.endpoint"])
        #expect(found[0].reason.contains("is required"))
        #expect(found[0].line == 9)
    }

    @Test func badEndpoint() {
        let yaml = validSiteYAML.replacingOccurrences(of: "https://10.20.0.10:6443", with: "http://10.20.0.10:6443")
        let found = issues(of: yaml)
        #expect(found.map(\.key) == ["cluster.endpoint"])
        #expect(found[0].reason.contains("not an https URL"))
    }

    @Test func duplicateNodeNames() {
        let yaml = validSiteYAML.replacingOccurrences(of: "name: worker-1", with: "name: cp-1")
        let found = issues(of: yaml)
        #expect(found.map(\.key) == ["nodes[1].name"])
        #expect(found[0].reason.contains("duplicate node name \"cp-1\" (also nodes[0])"))
        #expect(found[0].line == 20)
    }

    @Test func noBootstrapNode() {
        let yaml = validSiteYAML.replacingOccurrences(of: "    bootstrap: true\n", with: "")
        let found = issues(of: yaml)
        #expect(found.map(\.key) == ["nodes"])
        #expect(found[0].reason.contains("no node has bootstrap: true"))
    }

    @Test func twoBootstrapNodes() {
        let yaml = validSiteYAML.replacingOccurrences(of: "    role: worker\n", with: "    role: controlplane\n    bootstrap: true\n")
        let found = issues(of: yaml)
        #expect(found.map(\.key) == ["nodes[1].bootstrap"])
        #expect(found[0].reason.contains("more than one bootstrap node"))
    }

    @Test func workerMarkedBootstrap() {
        let yaml = validSiteYAML
            .replacingOccurrences(of: "    bootstrap: true\n", with: "")
            .replacingOccurrences(of: "    role: worker\n", with: "    role: worker\n    bootstrap: true\n")
        let found = issues(of: yaml)
        #expect(found.map(\.key) == ["nodes[1].bootstrap"])
        #expect(found[0].reason.contains("a worker cannot be the bootstrap node"))
    }

    @Test func badMAC() {
        let yaml = validSiteYAML.replacingOccurrences(of: "52:54:00:12:34:57", with: "52:54:00:12:34")
        let found = issues(of: yaml)
        #expect(found.map(\.key) == ["nodes[1].interface.mac"])
        #expect(found[0].reason.contains("is not a MAC address"))
        #expect(found[0].line == 23)
    }

    @Test func duplicateMAC() {
        let yaml = validSiteYAML.replacingOccurrences(of: "52:54:00:12:34:57", with: "52:54:00:12:34:56")
        #expect(issues(of: yaml).map(\.reason).contains { $0.contains("duplicate MAC") })
    }

    @Test func badCIDRs() {
        let podNet = validSiteYAML.replacingOccurrences(of: "[10.244.0.0/16]", with: "[10.244.0.0/33]")
        #expect(issues(of: podNet).map(\.key) == ["cluster.podSubnets[0]"])
        #expect(issues(of: podNet)[0].reason.contains("is not a CIDR"))
        let hostBits = validSiteYAML.replacingOccurrences(of: "[10.244.0.0/16]", with: "[10.244.1.0/16]")
        #expect(issues(of: hostBits)[0].reason.contains("has host bits set; write the network, 10.244.0.0/16"))
        let noPrefix = validSiteYAML.replacingOccurrences(of: "[10.20.0.11/24]", with: "[10.20.0.11]")
        #expect(issues(of: noPrefix).map(\.key) == ["nodes[0].interface.addresses[0]"])
        #expect(issues(of: noPrefix)[0].reason.contains("is not an address with a prefix length"))
        let overlap = validSiteYAML.replacingOccurrences(of: "[10.96.0.0/12]", with: "[10.244.128.0/17]")
        #expect(issues(of: overlap)[0].reason.contains("overlaps cluster.podSubnets[0]"))
    }

    @Test func gatewayOutsideItsSubnet() {
        let yaml = validSiteYAML.replacingOccurrences(of: "[10.20.0.21/24], gateway: 10.20.0.1", with: "[10.20.0.21/24], gateway: 10.30.0.1")
        let found = issues(of: yaml)
        #expect(found.map(\.key) == ["nodes[1].interface.gateway"])
        #expect(found[0].reason == "gateway 10.30.0.1 is outside the interface's subnet(s) 10.20.0.0/24")
    }

    @Test func nodeAddressInsideClusterNetwork() {
        let yaml = validSiteYAML.replacingOccurrences(of: "[10.20.0.21/24], gateway: 10.20.0.1", with: "[10.96.0.21/24], gateway: 10.96.0.1")
        let found = issues(of: yaml)
        #expect(found.map(\.key) == ["nodes[1].interface.addresses[0]"])
        #expect(found[0].reason.contains("inside cluster.serviceSubnets[0]"))
    }

    @Test func unknownRole() {
        let yaml = validSiteYAML.replacingOccurrences(of: "role: worker", with: "role: etcd")
        let found = issues(of: yaml)
        #expect(found.map(\.key) == ["nodes[1].role"])
        #expect(found[0].reason == "unknown role \"etcd\" (controlplane | worker)")
    }

    @Test func missingPatchFile() throws {
        let yaml = validSiteYAML.replacingOccurrences(of: "patches: {all: []", with: "patches: {all: [patches/gone.yaml]")
        let found = issues(of: yaml) { $0 == "patches/gone.yaml" ? .missing : .ok }
        #expect(found.map(\.key) == ["patches.all[0]"])
        #expect(found[0].reason == "patch file patches/gone.yaml does not exist")
        #expect(found[0].line == 25)
    }

    @Test func missingPatchFileOnDisk() throws {
        try withTemporaryDirectorySync { dir in
            try write(validSiteYAML.replacingOccurrences(of: "worker: []", with: "worker: [w.yaml, j.yaml]"), "\(dir)/site.yaml")
            try write("- {op: add, path: /machine/nodeLabels, value: {a: b}}\n", "\(dir)/j.yaml")
            do {
                _ = try TalosFiles.loadSite("\(dir)/site.yaml")
                Issue.record("expected the site to be invalid")
            } catch TalosError.invalidSite(let found) {
                #expect(found.map(\.key) == ["patches.worker[0]", "patches.worker[1]"])
                #expect(found[0].reason.contains("does not exist"))
                #expect(found[1].reason.contains("RFC 6902"))
            }
        }
    }

    @Test func badNamesAndVersions() {
        let yaml = validSiteYAML
            .replacingOccurrences(of: "{name: windfarm-7}", with: "{name: Windfarm_7}")
            .replacingOccurrences(of: "version: v1.13.9", with: "version: v1.12.4")
        let found = issues(of: yaml)
        #expect(found.map(\.key) == ["metadata.name", "talos.version"])
        #expect(found[1].reason.contains("v1.13"))
    }

    @Test func wrongTypesAreReported() {
        let yaml = validSiteYAML.replacingOccurrences(of: "bootstrap: true", with: "bootstrap: yes-please")
        let found = issues(of: yaml)
        #expect(found.contains { $0.key == "nodes[0].bootstrap" && $0.reason == "must be true or false" })
    }

    @Test func everyProblemIsReportedAtOnce() {
        let yaml = validSiteYAML
            .replacingOccurrences(of: "52:54:00:12:34:57", with: "zz")
            .replacingOccurrences(of: "role: worker", with: "role: boss")
            .replacingOccurrences(of: "  endpoint: https://10.20.0.10:6443\n", with: "")
        #expect(Set(issues(of: yaml).map(\.key)) == ["cluster.endpoint", "nodes[1].role", "nodes[1].interface.mac"])
    }

    @Test func notYAML() {
        #expect(throws: TalosError.self) { try decodeSite("a: [b\n") }
    }
}
