/// The vocabulary every media writer shares (FAT32, ISO9660, the media manifest): one file to place on a
/// filesystem, where its bytes come from, and the Talos facts the boot media must carry.
///
/// Files are streamed from their source when a filesystem is written, never held whole in memory
/// (packages and image-cache blobs can be gigabytes).
public struct MediaFile: Sendable, Hashable {
    /// Path inside the filesystem, `/`-separated, without a leading slash (`EFI/BOOT/BOOTX64.EFI`).
    public var path: String
    public var source: MediaFileSource

    public init(path: String, source: MediaFileSource) {
        self.path = path
        self.source = source
    }
}

/// Where the bytes of a `MediaFile` come from.
public enum MediaFileSource: Sendable, Hashable {
    /// Small generated content (a config, a manifest, a boot loader entry).
    case bytes([UInt8])
    /// A file on the host, read when the filesystem is written.
    case file(path: String)
}

/// Talos boot facts the media writers need (see ../shared/reference/talos-facts.md, "Boot media").
public enum TalosMediaFacts {
    /// Kernel arguments Talos uses for metal amd64 v1.13; media adds `talos.config=metal-iso`.
    public static let defaultKernelArguments: [String] = [
        "talos.platform=metal", "console=tty0", "init_on_alloc=1", "slab_nomerge", "pti=on",
        "consoleblank=0", "nvme_core.io_timeout=4294967295", "printk.devkmsg=on", "selinux=1",
        "module.sig_enforce=1", "proc_mem.force_override=never",
    ]
    /// The label (GPT partition name or filesystem label) Talos looks for with `talos.config=metal-iso`.
    public static let configVolumeLabel = "metal-iso"
    /// GPT partition type GUIDs.
    public static let efiSystemPartitionType = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
    public static let biosBootPartitionType = "21686148-6449-6E6F-744E-656564454649"
    public static let linuxDataPartitionType = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
}
