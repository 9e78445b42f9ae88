import Foundation

/// Every failure of building, verifying or flashing boot media, each naming the file, image, partition,
/// offset or device involved and what to do next.
public enum MediaBuilderError: Error, CustomStringConvertible, Sendable {
    /// The site, its secrets or a patch could not be used (the Talos module's message).
    case site(String)
    /// `--node` names no node of the site.
    case unknownNode(node: String, site: String, known: [String])
    /// The site gives no Talos boot assets (`talos.assets`).
    case noBootAssets(site: String)
    /// A boot asset (ISO, kernel, initramfs, boot loader) is missing or unusable.
    case asset(path: String, reason: String)
    /// A package could not be read or failed its checks.
    case package(path: String, reason: String)
    /// Images the node needs that no source holds.
    case missingImages([String], searched: [String])
    /// An image source (OCI layout, package) is damaged or an image in it is unusable.
    case image(source: String, reason: String)
    /// The output exists and `--force` was not given.
    case exists(path: String)
    /// A file could not be read or written.
    case io(path: String, reason: String)
    /// Something does not fit the medium (FAT32's 4 GiB file limit, the ISO's 32 MiB EFI image).
    case tooLarge(what: String, size: UInt64, limit: UInt64, hint: String)
    /// A filesystem or partition table writer failed.
    case format(what: String, reason: String)
    /// A signing or verification key could not be loaded.
    case key(path: String, reason: String)
    /// `media verify` found problems (all of them, in medium order).
    case verification(image: String, problems: [String])
    /// `media flash` refused the device or the write failed.
    case flash(device: String, reason: String)

    public var description: String {
        switch self {
        case .site(let m): return m
        case .unknownNode(let node, let site, let known):
            return "\(site): no node named \(node) (nodes: \(known.joined(separator: ", ")))"
        case .noBootAssets(let site):
            return "\(site): talos.assets is not set: give the Talos ISO (talos.assets.iso) or kernel + initramfs, or pass --iso / --kernel and --initramfs"
        case .asset(let path, let reason): return "boot asset \(path): \(reason)"
        case .package(let path, let reason): return "package \(path): \(reason)"
        case .missingImages(let images, let searched):
            return "\(images.count) image(s) the node needs are in no image source:\n"
                + images.map { "  " + $0 }.joined(separator: "\n")
                + "\nsearched: \(searched.isEmpty ? "(no sources)" : searched.joined(separator: ", "))"
                + "\nadd an OCI layout holding them with --images-from DIR, or pass --allow-missing-images"
        case .image(let source, let reason): return "image source \(source): \(reason)"
        case .exists(let path): return "\(path) already exists; refusing to overwrite it (pass --force to replace it)"
        case .io(let path, let reason): return "\(path): \(reason)"
        case .tooLarge(let what, let size, let limit, let hint):
            return "\(what) is \(size) bytes, over the limit of \(limit) bytes: \(hint)"
        case .format(let what, let reason): return "writing \(what) failed: \(reason)"
        case .key(let path, let reason): return "key \(path): \(reason)"
        case .verification(let image, let problems):
            return "\(image): \(problems.count) problem(s):\n" + problems.map { "  " + $0 }.joined(separator: "\n")
        case .flash(let device, let reason): return "flash to \(device): \(reason)"
        }
    }
}
