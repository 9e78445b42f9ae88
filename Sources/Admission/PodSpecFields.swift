import Foundation
import OutpostCore

/// The parts of a pod's `spec` the pod hook reads: each container's and image volume's name and image.
///
/// The webhook's hot path reads them straight from the request bytes (`FastJSON.readPodSpec`) instead of
/// building the spec as a `JSONValue`; `init(json:)` reads them from a built spec. Both give what
/// `JSONValue`'s accessors would: a field that is missing or not a string is nil, a list that is not an
/// array is empty, and of duplicate keys the last wins.
struct PodSpecFields: Sendable, Equatable {
    /// The container lists, in the order the hook patches them.
    enum ContainerList: String, CaseIterable, Sendable {
        case initContainers, containers, ephemeralContainers
    }

    struct Container: Sendable, Equatable {
        var name: String?
        var image: String?
    }

    struct Volume: Sendable, Equatable {
        var name: String?
        /// Whether `image` is an object (an image volume source); other volumes are left alone.
        var hasImageSource = false
        var reference: String?
    }

    var initContainers: [Container] = []
    var containers: [Container] = []
    var ephemeralContainers: [Container] = []
    var volumes: [Volume] = []

    subscript(list: ContainerList) -> [Container] {
        get {
            switch list {
            case .initContainers: return initContainers
            case .containers: return containers
            case .ephemeralContainers: return ephemeralContainers
            }
        }
        set {
            switch list {
            case .initContainers: initContainers = newValue
            case .containers: containers = newValue
            case .ephemeralContainers: ephemeralContainers = newValue
            }
        }
    }

    init() {}

    /// The fields of a spec already built as JSON.
    init(json spec: JSONValue) {
        for list in ContainerList.allCases {
            self[list] = (spec[list.rawValue]?.arrayValue ?? []).map {
                Container(name: $0["name"]?.stringValue, image: $0["image"]?.stringValue)
            }
        }
        volumes = (spec["volumes"]?.arrayValue ?? []).map {
            Volume(name: $0["name"]?.stringValue, hasImageSource: $0["image"]?.objectValue != nil,
                   reference: $0["image"]?["reference"]?.stringValue)
        }
    }
}

extension FastJSON {
    /// Reads the pod spec object at `i` into `PodSpecFields`, checking everything else in it as `skipValue` does.
    mutating func readPodSpec(depth: Int) throws -> PodSpecFields {
        var spec = PodSpecFields()
        try members(depth: depth) { p, key in
            if let list = PodSpecFields.ContainerList(key: key) {
                spec[list] = try p.list(depth: depth + 1) { p in
                    var container = PodSpecFields.Container()
                    guard p.next == UInt8(ascii: "{") else { try p.skipValue(depth: depth + 2); return container }
                    try p.members(depth: depth + 2) { p, key in
                        if key.equals("name") { container.name = try p.stringOrSkip(depth: depth + 3) }
                        else if key.equals("image") { container.image = try p.stringOrSkip(depth: depth + 3) }
                        else { try p.skipValue(depth: depth + 3) }
                    }
                    return container
                }
            } else if key.equals("volumes") {
                spec.volumes = try p.list(depth: depth + 1) { p in
                    var volume = PodSpecFields.Volume()
                    guard p.next == UInt8(ascii: "{") else { try p.skipValue(depth: depth + 2); return volume }
                    try p.members(depth: depth + 2) { p, key in
                        if key.equals("name") { volume.name = try p.stringOrSkip(depth: depth + 3) }
                        else if key.equals("image") { (volume.hasImageSource, volume.reference) = try p.imageSource(depth: depth + 3) }
                        else { try p.skipValue(depth: depth + 3) }
                    }
                    return volume
                }
            } else {
                try p.skipValue(depth: depth + 1)
            }
        }
        return spec
    }

    /// The elements of the array at `i` read by `element`; a value that is not an array is skipped and
    /// reads as empty (as `arrayValue ?? []`).
    private mutating func list<T>(depth: Int, _ element: (inout FastJSON) throws -> T) throws -> [T] {
        guard next == UInt8(ascii: "[") else { try skipValue(depth: depth); return [] }
        var result: [T] = []
        try elements(depth: depth) { p in result.append(try element(&p)) }
        return result
    }

    /// A volume's `image`: whether it is an object, and its `reference` when that is a string.
    private mutating func imageSource(depth: Int) throws -> (Bool, String?) {
        guard next == UInt8(ascii: "{") else { try skipValue(depth: depth); return (false, nil) }
        var reference: String?
        try members(depth: depth) { p, key in
            if key.equals("reference") { reference = try p.stringOrSkip(depth: depth + 1) } else { try p.skipValue(depth: depth + 1) }
        }
        return (true, reference)
    }
}

extension PodSpecFields.ContainerList {
    init?(key: UnsafeBufferPointer<UInt8>) {
        if key.equals("containers") { self = .containers }
        else if key.equals("initContainers") { self = .initContainers }
        else if key.equals("ephemeralContainers") { self = .ephemeralContainers }
        else { return nil }
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Whether these bytes are `s`'s UTF-8.
    func equals(_ s: StaticString) -> Bool {
        equals(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// Whether both hold the same bytes.
    func equals(_ other: UnsafeBufferPointer<UInt8>) -> Bool {
        guard count == other.count else { return false }
        guard let a = baseAddress, let b = other.baseAddress else { return true }  // both empty
        return memcmp(a, b, count) == 0
    }
}
