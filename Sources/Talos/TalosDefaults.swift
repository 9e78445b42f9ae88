import Foundation

/// The values Outpost uses when a site leaves something out, matching Talos v1.13.9's own defaults
/// (talos/README.md lists them for users).
public enum TalosDefaults {
    public static let talosVersion = "v1.13.9"
    public static let kubernetesVersion = "v1.36.3"
    public static let installDisk = "/dev/sda"
    public static let dnsDomain = "cluster.local"
    public static let podSubnet = "10.244.0.0/16"
    public static let serviceSubnet = "10.96.0.0/12"
    public static let kubePrismPort = 7445
    public static let apiServerPort = 6443
    /// Zarf's registry NodePort (zarf-compat.md).
    public static let registryNodePort = 31999
    /// The Talos image cache volume's size bounds.
    public static let imageCacheMinSize = "2GiB"
    public static let imageCacheMaxSize = "16GiB"
    /// Registries Talos's own default images come from; always mirrored.
    public static let systemRegistries = ["docker.io", "ghcr.io", "registry.k8s.io"]
    /// Validity of the cluster CAs (87600h) and of the talosconfig admin certificate (1 year).
    public static let caValidity: TimeInterval = 87_600 * 3600
    public static let adminCertValidity: TimeInterval = 8_760 * 3600

    public static func installerImage(version: String) -> String { "ghcr.io/siderolabs/installer:\(version)" }

    /// Kubernetes component images for a Kubernetes version.
    public static func kubernetesImages(_ k8s: String) -> (apiServer: String, controllerManager: String,
                                                          scheduler: String, proxy: String, kubelet: String) {
        ("registry.k8s.io/kube-apiserver:\(k8s)", "registry.k8s.io/kube-controller-manager:\(k8s)",
         "registry.k8s.io/kube-scheduler:\(k8s)", "registry.k8s.io/kube-proxy:\(k8s)",
         "ghcr.io/siderolabs/kubelet:\(k8s)")
    }
}
