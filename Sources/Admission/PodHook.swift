import Foundation
import OutpostCore

/// Pod mutation: every container image (containers, initContainers, ephemeralContainers) and image volume
/// rewritten to the internal registry, the `private-registry` pull secret, the `zarf-agent: patched` label
/// and `zarf.dev/original-image-<container>` annotations holding the original references.
struct PodHook {
    let config: AgentConfig
    /// Earlier rewrites on this connection, when the caller keeps them.
    var memo: ImageRewriteMemo? = nil

    static let pullSecret = "private-registry"
    /// The `add /spec/imagePullSecrets` operation, the same for every pod.
    static let pullSecretPatch = PatchOperation.add("/spec/imagePullSecrets", [["name": .string(pullSecret)]])

    /// `zarf.dev/original-<kind>-<name>`, the name part cut to 63 characters and stripped of trailing `-`.
    static func annotationKey(_ kind: StaticString, _ name: String) -> String {
        let prefix = "zarf.dev/".utf8.count, limit = prefix + 63
        // Written straight into the string's storage: one allocation, no intermediate copies.
        return String(unsafeUninitializedCapacity: limit) { key in
            var n = 0
            func put(_ bytes: UnsafeBufferPointer<UInt8>) {
                let m = min(bytes.count, limit - n)
                if m > 0 { UnsafeMutableRawPointer(key.baseAddress! + n).copyMemory(from: bytes.baseAddress!, byteCount: m) }
                n += m
            }
            put(UnsafeBufferPointer(start: ("zarf.dev/original-" as StaticString).utf8Start, count: 18))
            put(UnsafeBufferPointer(start: kind.utf8Start, count: kind.utf8CodeUnitCount))
            put(UnsafeBufferPointer(start: ("-" as StaticString).utf8Start, count: 1))
            if name.utf8.withContiguousStorageIfAvailable(put) == nil { Array(name.utf8).withUnsafeBufferPointer(put) }
            // A cut inside a character leaves bytes that decode to U+FFFD, never "-": trimming bytes is trimming characters.
            while n > 0, key[n - 1] == UInt8(ascii: "-") { n -= 1 }
            return n
        }
    }

    /// `/spec/<list>/<i>/image` for the first containers of each list, made once.
    private static func imagePaths(_ list: PodSpecFields.ContainerList) -> [String] {
        (0..<16).map { "/spec/\(list.rawValue)/\($0)/image" }
    }
    private static let initContainerPaths = imagePaths(.initContainers)
    private static let containerPaths = imagePaths(.containers)
    private static let ephemeralContainerPaths = imagePaths(.ephemeralContainers)

    static func imagePath(_ list: PodSpecFields.ContainerList, _ i: Int) -> String {
        let paths: [String]
        switch list {
        case .initContainers: paths = initContainerPaths
        case .containers: paths = containerPaths
        case .ephemeralContainers: paths = ephemeralContainerPaths
        }
        return i < paths.count ? paths[i] : "/spec/" + list.rawValue + "/" + String(i) + "/image"
    }

    /// `readSpec` is the spec's fields when the parse already read them (`AdmissionRequest.podSpec`).
    func mutate(_ pod: ObjectView, subResource: String, readSpec: PodSpecFields? = nil) throws -> AdmissionResult {
        let ephemeralOnly: Bool
        switch subResource {
        case "": ephemeralOnly = false
        case "ephemeralcontainers": ephemeralOnly = true
        default: throw AdmissionError.unsupportedSubresource(subResource)
        }
        if !ephemeralOnly, pod.label("zarf-agent") == "patched" { return .allow() }
        guard let specJSON = pod.json["spec"], specJSON.objectValue != nil else { throw AdmissionError.missingField("spec") }
        let spec = readSpec ?? PodSpecFields(json: specJSON)

        let listed = spec.initContainers.count + spec.containers.count + spec.ephemeralContainers.count
        var patches: [PatchOperation] = []
        patches.reserveCapacity(4 + listed + spec.volumes.count)
        patches += pod.metadataPatch()
        var annotations = pod.annotationsJSON
        // One copy at the final size (the original is still the request's), instead of a copy and a regrowth.
        annotations.reserveCapacity(annotations.count + listed + spec.volumes.count)
        if ephemeralOnly {
            // The `pods/ephemeralcontainers` subresource: only ephemeral container images and their annotations.
            try containerPatches(spec, list: .ephemeralContainers, annotations: &annotations, into: &patches)
            patches.append(.add("/metadata/annotations", .object(annotations)))
            return .allow(patches)
        }
        patches.append(Self.pullSecretPatch)
        for list in PodSpecFields.ContainerList.allCases {
            try containerPatches(spec, list: list, annotations: &annotations, into: &patches)
        }
        for (i, volume) in spec.volumes.enumerated() where volume.hasImageSource {
            let name = volume.name ?? "\(i)"
            guard let reference = volume.reference, !reference.isEmpty else {
                throw AdmissionError.invalidReference(field: "spec.volumes[\(i)].image.reference", value: "",
                    reason: "volume \"\(name)\" has an image volume source with an empty reference")
            }
            let replacement = try rewrite(reference, field: "spec.volumes[\(i)].image.reference")
            annotations[Self.annotationKey("volume", name)] = .string(reference)
            patches.append(.replace("/spec/volumes/\(i)/image/reference", .string(replacement)))
        }
        patches.append(pod.patchedLabelPatch())
        patches.append(.add("/metadata/annotations", .object(annotations)))
        return .allow(patches)
    }

    /// Zarf's image rule (`References.image`), through the memo when there is one.
    private func rewrite(_ image: String, field: @autoclosure () -> String) throws -> String {
        let target = config.registryAddress
        guard let memo else { return try References.image(image, target: target, field: field()) }
        return try memo.rewrite(image, target: target) { try References.image(image, target: target, field: field()) }
    }

    private func containerPatches(_ spec: PodSpecFields, list: PodSpecFields.ContainerList,
                                  annotations: inout [String: JSONValue], into patches: inout [PatchOperation]) throws {
        for (i, container) in spec[list].enumerated() {
            func field() -> String { "spec.\(list.rawValue)[\(i)].image" }
            guard let image = container.image, !image.isEmpty else {
                throw AdmissionError.invalidReference(field: field(), value: "", reason: "the container has no image")
            }
            let replacement = try rewrite(image, field: field())
            annotations[Self.annotationKey("image", container.name ?? "\(i)")] = .string(image)
            patches.append(.replace(Self.imagePath(list, i), .string(replacement)))
        }
    }
}
