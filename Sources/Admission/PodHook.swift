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
    static func annotationKey(_ kind: String, _ name: String) -> String {
        let prefix = "zarf.dev/".utf8.count
        var key: [UInt8] = []
        key.reserveCapacity(prefix + 64)
        key += "zarf.dev/original-".utf8
        key += kind.utf8
        key.append(UInt8(ascii: "-"))
        key += name.utf8
        if key.count - prefix > 63 { key.removeLast(key.count - prefix - 63) }
        // A cut inside a character leaves bytes that decode to U+FFFD, never "-": trimming bytes is trimming characters.
        while key.last == UInt8(ascii: "-") { key.removeLast() }
        return String(decoding: key, as: UTF8.self)
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

        var patches = pod.metadataPatch()
        var annotations = pod.annotationsJSON
        if ephemeralOnly {
            // The `pods/ephemeralcontainers` subresource: only ephemeral container images and their annotations.
            patches += try containerPatches(spec, list: .ephemeralContainers, annotations: &annotations)
            patches.append(.add("/metadata/annotations", .object(annotations)))
            return .allow(patches)
        }
        patches.append(Self.pullSecretPatch)
        for list in PodSpecFields.ContainerList.allCases {
            patches += try containerPatches(spec, list: list, annotations: &annotations)
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
                                  annotations: inout [String: JSONValue]) throws -> [PatchOperation] {
        var patches: [PatchOperation] = []
        for (i, container) in spec[list].enumerated() {
            func field() -> String { "spec.\(list.rawValue)[\(i)].image" }
            guard let image = container.image, !image.isEmpty else {
                throw AdmissionError.invalidReference(field: field(), value: "", reason: "the container has no image")
            }
            let replacement = try rewrite(image, field: field())
            annotations[Self.annotationKey("image", container.name ?? "\(i)")] = .string(image)
            patches.append(.replace("/spec/" + list.rawValue + "/" + String(i) + "/image", .string(replacement)))
        }
        return patches
    }
}
