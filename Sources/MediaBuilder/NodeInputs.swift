import Foundation
import OCI
import OutpostCore
import Packaging
import Talos

/// Everything one node's medium is made from, gathered from the site: the rendered machine config, the
/// site's packages (read and checked once), the images the node needs and the Talos boot assets.
struct NodeInputs {
    var site: Site
    var node: Site.Node
    var siteDirectory: String
    var configYAML: Data
    var packages: [SourceCatalog]
    /// Images for the image cache: Talos's defaults, the installer, every package image.
    var wantedImages: [String]

    /// Talos v1.13's default images for a Kubernetes version (`talosctl images default`; talos-facts.md).
    /// The installer is not among them and is added separately.
    static func talosDefaultImages(kubernetesVersion k8s: String) -> [String] {
        let kube = TalosDefaults.kubernetesImages(k8s)
        return [
            "ghcr.io/siderolabs/flannel:0.28.8", "registry.k8s.io/coredns/coredns:v1.14.6",
            "registry.k8s.io/etcd:v3.6.12", "registry.k8s.io/pause:3.10.1",
            kube.apiServer, kube.controllerManager, kube.scheduler, kube.proxy, kube.kubelet,
            "registry.k8s.io/networking/kube-network-policies:v1.1.0",
        ]
    }

    static func load(_ o: MediaBuildOptions, progress: ProgressReporter) throws -> NodeInputs {
        let site: Site
        do { site = try TalosFiles.loadSite(o.site) } catch { throw MediaBuilderError.site("\(error)") }
        guard let node = site.nodes.first(where: { $0.name == o.node }) else {
            throw MediaBuilderError.unknownNode(node: o.node, site: o.site, known: site.nodes.map(\.name))
        }
        let base = URL(fileURLWithPath: o.site).deletingLastPathComponent().path

        progress.begin("reading packages", total: Int64(site.packages.count), unit: .items)
        var packages: [SourceCatalog] = []
        for p in site.packages {
            packages.append(try SourceCatalog.open(.package(resolve(p, against: base))))
            progress.advance("reading packages", by: 1)
        }
        progress.end("reading packages")

        var packageImages: [String] = []
        for cat in packages {
            for c in cat.packageContents?.package.components ?? [] { packageImages += c.images ?? [] }
        }
        let registries = Array(Set(packageImages.map(TalosFiles.registryHost(of:)))).sorted()

        let secretsPath = o.secrets ?? base + "/secrets.yaml"
        let yaml: String
        do {
            let secrets = try TalosFiles.readSecrets(secretsPath)
            let load: (String) throws -> NamedPatch = { try TalosFiles.loadPatch(resolve($0, against: base)) }
            let generator = MachineConfigGenerator(site: site, secrets: secrets, packageRegistries: registries,
                                                   agentManifests: try o.agentManifests.map { try String(contentsOfFile: $0, encoding: .utf8) },
                                                   bootstrapMode: o.bootstrapAPI ? .apiCall : .initType)
            let builder = SiteConfigBuilder(
                generator: generator, all: try site.patches.all.map(load),
                controlplane: try site.patches.controlplane.map(load), worker: try site.patches.worker.map(load),
                perNode: [node.name: try node.patches.map(load)], commandLine: try o.patches.map(TalosFiles.loadPatch))
            yaml = try YAMLDocuments.render(try builder.documents(for: node))
        } catch let e as MediaBuilderError { throw e } catch {
            throw MediaBuilderError.site("\(error)")
        }

        var wanted = talosDefaultImages(kubernetesVersion: site.talos.kubernetesVersion) + [site.talos.installerImage]
        wanted += packageImages
        return NodeInputs(site: site, node: node, siteDirectory: base, configYAML: Data(yaml.utf8), packages: packages,
                          wantedImages: wanted)
    }

    static func resolve(_ path: String, against base: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: base).appendingPathComponent(path).path
    }
}
