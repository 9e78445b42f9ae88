/// The directory tree implied by a list of `MediaFile` paths, as a flat array of nodes (value type, so
/// volumes stay `Sendable`). Both the FAT32 and the ISO9660 writers plan their layout from it: children
/// are sorted by their UTF-8 bytes, which makes every image's byte layout reproducible.
struct FileTree: Sendable {
    struct Node: Sendable {
        var name: String
        var path: String
        var isDirectory: Bool
        var children: [Int] = []
        var parent: Int
        var source: MediaFileSource? = nil
        var size: UInt64 = 0
    }

    private(set) var nodes: [Node]

    /// Builds the tree. `validateComponent` applies the format's character rules to one path component;
    /// `caseInsensitive` makes names that differ only in case collide (FAT).
    init(files: [MediaFile], caseInsensitive: Bool, maxFileSize: UInt64,
         validateComponent: (String, String) throws -> Void) throws {
        nodes = [Node(name: "", path: "", isDirectory: true, parent: 0)]
        var index: [String: Int] = ["": 0]   // key: normalised path
        for file in files {
            let path = file.path
            guard !path.isEmpty else { throw MediaError.invalidPath(path, reason: "empty path") }
            guard !path.hasPrefix("/") else { throw MediaError.invalidPath(path, reason: "must be relative (no leading /)") }
            let components = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            var parent = 0
            var key = ""
            for (i, c) in components.enumerated() {
                guard !c.isEmpty else { throw MediaError.invalidPath(path, reason: "empty path component (// or trailing /)") }
                guard c != "." && c != ".." else { throw MediaError.invalidPath(path, reason: "\"\(c)\" is not allowed as a component") }
                guard !c.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                    throw MediaError.invalidPath(path, reason: "control characters are not allowed")
                }
                try validateComponent(c, path)
                let isLast = i == components.count - 1
                key += "/" + (caseInsensitive ? c.uppercased() : c)
                if let existing = index[key] {
                    let n = nodes[existing]
                    if isLast && n.isDirectory { throw MediaError.invalidPath(path, reason: "is also a directory of other files") }
                    if isLast { throw MediaError.invalidPath(path, reason: n.path == nodes[existing].path && n.path == components[0...i].joined(separator: "/") ? "given twice" : "collides with \"\(n.path)\" (names differ only in case)") }
                    if !n.isDirectory { throw MediaError.invalidPath(path, reason: "\"\(n.path)\" is a file, not a directory") }
                    if n.name != c { throw MediaError.invalidPath(path, reason: "collides with \"\(n.path)\" (names differ only in case)") }
                    parent = existing
                    continue
                }
                let nodePath = components[0...i].joined(separator: "/")
                var node = Node(name: c, path: nodePath, isDirectory: !isLast, parent: parent)
                if isLast {
                    node.source = file.source
                    node.size = try SourceReader.size(of: file.source, path: path)
                    if node.size > maxFileSize { throw MediaError.fileTooLarge(path, size: node.size, limit: maxFileSize) }
                }
                nodes.append(node)
                let id = nodes.count - 1
                nodes[parent].children.append(id)
                index[key] = id
                parent = id
            }
        }
        let names = nodes.map(\.name)
        for i in nodes.indices {
            nodes[i].children.sort { names[$0].utf8.lexicographicallyPrecedes(names[$1].utf8) }
        }
    }

    /// Node ids in pre-order (a directory before its children, children sorted), root first.
    func preOrder() -> [Int] {
        var out: [Int] = []
        var stack = [0]
        while let n = stack.popLast() {
            out.append(n)
            stack.append(contentsOf: nodes[n].children.reversed())
        }
        return out
    }

    /// Node ids level by level (what ISO9660 path tables want), root first.
    func breadthFirst() -> [Int] {
        var out = [0]
        var i = 0
        while i < out.count {
            out.append(contentsOf: nodes[out[i]].children.filter { nodes[$0].isDirectory })
            i += 1
        }
        return out
    }
}
