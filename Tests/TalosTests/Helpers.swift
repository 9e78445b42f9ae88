import Foundation
import OutpostCore
import Talos
import TestSupport

/// One secrets bundle for the whole test target: RSA-4096 generation takes a while.
let sharedBundle: SecretsBundle = try! SecretsBundle.generate()

/// The annotated example site shipped in talos/.
var exampleSitePath: String { repositoryRoot() + "/talos/site.example.yaml" }

/// A valid two-node site, as YAML, to mutate in bad-input tests.
let validSiteYAML = """
    apiVersion: outpost.dev/v1alpha1
    kind: Site
    metadata: {name: windfarm-7}
    talos:
      version: v1.13.9
      kubernetesVersion: v1.36.3
      installerImage: ghcr.io/siderolabs/installer:v1.13.9
      assets: {iso: assets/metal-amd64.iso}
    cluster:
      endpoint: https://10.20.0.10:6443
      podSubnets: [10.244.0.0/16]
      serviceSubnets: [10.96.0.0/12]
    network: {nameservers: [10.20.0.1], timeServers: [10.20.0.1]}
    nodes:
      - name: cp-1
        role: controlplane
        bootstrap: true
        installDisk: /dev/sda
        interface: {mac: "52:54:00:12:34:56", addresses: [10.20.0.11/24], gateway: 10.20.0.1}
      - name: worker-1
        role: worker
        installDisk: /dev/nvme0n1
        interface: {mac: "52:54:00:12:34:57", addresses: [10.20.0.21/24], gateway: 10.20.0.1}
    packages: [packages/zarf-init-amd64-v0.1.0.tar.zst]
    patches: {all: [], controlplane: [], worker: []}

    """

func decodeSite(_ yaml: String = validSiteYAML, patchStatus: @escaping (String) -> SiteValidator.PatchStatus = { _ in .ok }) throws -> Site {
    try SiteDecoder(file: "site.yaml").decodeAndValidate(yaml, patchStatus: patchStatus)
}

/// The issues a site produces (empty when valid).
func issues(of yaml: String, patchStatus: @escaping (String) -> SiteValidator.PatchStatus = { _ in .ok }) -> [SiteIssue] {
    do {
        _ = try decodeSite(yaml, patchStatus: patchStatus)
        return []
    } catch TalosError.invalidSite(let issues) {
        return issues
    } catch {
        return [SiteIssue(file: "?", key: "(error)", reason: "\(error)")]
    }
}

/// Validates JSON documents against Talos's v1.13.9 config schema with Python `jsonschema`; returns one
/// error list per document (empty = valid).
func schemaErrors(_ documents: [JSONValue]) throws -> [[String]] {
    try withTemporaryDirectorySync { dir in
        var paths: [String] = []
        for (i, d) in documents.enumerated() {
            let p = "\(dir)/doc\(i).json"
            try d.encoded().write(to: URL(fileURLWithPath: p))
            paths.append(p)
        }
        let script = """
            import json, sys
            from jsonschema import Draft202012Validator
            v = Draft202012Validator(json.load(open(sys.argv[1])))
            out = []
            for p in sys.argv[2:]:
                doc = json.load(open(p))
                errs = []
                kind = doc.get("kind")
                # report against the matching definition for readable messages
                defs = v.schema["$defs"]
                target = None
                for name, d in defs.items():
                    props = d.get("properties", {})
                    if kind is None and name == "v1alpha1.Config": target = d
                    elif kind is not None and props.get("kind", {}).get("enum") == [kind]: target = d
                if not v.is_valid(doc):
                    if target is not None:
                        sub = Draft202012Validator(dict(target, **{"$defs": defs}))
                        errs = ["/".join(map(str, e.absolute_path)) + ": " + e.message for e in sub.iter_errors(doc)]
                    if not errs:
                        errs = [e.message for e in v.iter_errors(doc)]
                out.append(errs)
            print(json.dumps(out))
            """
        let schema = sharedDirectory() + "/schemas/talos-config-v1.13.9.schema.json"
        let r = try ProcessRunner.run("python3", ["-c", script, schema] + paths, check: true)
        return try JSONDecoder().decode([[String]].self, from: r.stdout)
    }
}

func withTemporaryDirectorySync<T>(_ body: (String) throws -> T) throws -> T {
    let dir = try makeTemporaryDirectory("outpost-talos")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}

/// Runs openssl with `args`, failing the test on a non-zero exit.
@discardableResult
func openssl(_ args: [String], stdin: Data? = nil) throws -> String {
    let r = try ProcessRunner.run("openssl", args, stdin: stdin, check: true)
    return r.out + r.err
}

func write(_ text: String, _ path: String) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}
