import Foundation
import OutpostCore

/// A Talos machine-config patch with Talos's rules, so a patch behaves here as with `talosctl --config-patch`:
///
/// - a YAML/JSON list of RFC 6902 operations is a JSON patch, applied only to single-document configs;
/// - anything else is a strategic merge, one or more documents: the `v1alpha1` document is matched by having
///   no `kind`, others by apiVersion + kind + name (unmatched ones are added); maps merge deeply; lists append,
///   except `cluster.network.podSubnets`/`serviceSubnets` (replaced) and `machine.network.interfaces`
///   (merged by `interface` or `deviceSelector`); `$patch: delete` removes a key, a keyed list item or a document.
public enum ConfigPatch: Sendable, Hashable {
    case strategicMerge([JSONValue])
    /// RFC 6902 operations (applied with OutpostCore's `JSONPatch`).
    case jsonPatch(JSONValue)

    /// Lists replaced rather than appended.
    static let replacedLists: Set<String> = ["cluster.network.podSubnets", "cluster.network.serviceSubnets"]
    /// Lists merged by a key field.
    static let keyedLists: [String: [String]] = ["machine.network.interfaces": ["interface", "deviceSelector"]]

    /// Reads a patch file's text; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws -> ConfigPatch {
        let docs: [JSONValue]
        do { docs = try YAMLDocuments.parse(text, file: file) } catch let e as TalosError {
            throw TalosError.patch(file: file, reason: "\(e)")
        }
        guard !docs.isEmpty else { throw TalosError.patch(file: file, reason: "the patch is empty") }
        if docs.count == 1, let ops = docs.first?.arrayValue {
            let known: Set<String> = ["add", "remove", "replace", "move", "copy", "test"]
            for (i, op) in ops.enumerated() {
                guard let name = op["op"]?.stringValue, op["path"]?.stringValue != nil else {
                    throw TalosError.patch(file: file, reason: "operation \(i): a list must hold RFC 6902 operations ({op, path, value})")
                }
                guard known.contains(name) else {
                    throw TalosError.patch(file: file, reason: "operation \(i): unknown op \"\(name)\" (add, remove, replace, move, copy, test)")
                }
            }
            return .jsonPatch(docs[0])
        }
        for (i, d) in docs.enumerated() where d.objectValue == nil {
            throw TalosError.patch(file: file, reason: "document \(i + 1) is not a mapping")
        }
        return .strategicMerge(docs)
    }

    /// Applies the patch to a config's documents. `file` names the patch in errors.
    public func apply(to config: [JSONValue], file: String) throws -> [JSONValue] {
        switch self {
        case .jsonPatch(let patch):
            guard config.count == 1 else {
                throw TalosError.patch(file: file, reason: "RFC 6902 JSON patches apply only to single-document configs; this config has \(config.count) documents (write a strategic merge patch)")
            }
            do { return [try JSONPatch.apply(patch, to: config[0])] } catch {
                throw TalosError.patch(file: file, reason: "\(error)")
            }
        case .strategicMerge(let patches):
            var docs = config
            for p in patches {
                let key = Self.identity(of: p)
                let index = docs.firstIndex { Self.identity(of: $0) == key }
                if Self.isDelete(p) {
                    guard let index else {
                        throw TalosError.patch(file: file, reason: "$patch: delete names \(key.description), which the config does not have")
                    }
                    docs.remove(at: index)
                } else if let index {
                    docs[index] = try Self.merge(docs[index], p, path: "", file: file)
                } else {
                    docs.append(Self.stripDirectives(p))
                }
            }
            return docs
        }
    }

    /// What a document is matched by: `v1alpha1` for the main document, else apiVersion/kind/name.
    struct Identity: Equatable, CustomStringConvertible {
        var apiVersion: String?, kind: String?, name: String?
        var description: String { kind == nil ? "the v1alpha1 document" : "\(apiVersion ?? "?")/\(kind!) \(name ?? "(unnamed)")" }
    }

    static func identity(of doc: JSONValue) -> Identity {
        guard let kind = doc["kind"]?.stringValue else { return Identity() }
        return Identity(apiVersion: doc["apiVersion"]?.stringValue, kind: kind, name: doc["name"]?.stringValue)
    }

    static func isDelete(_ v: JSONValue) -> Bool { v["$patch"]?.stringValue == "delete" }

    static func merge(_ target: JSONValue, _ patch: JSONValue, path: String, file: String) throws -> JSONValue {
        guard case .object(var t) = target, case .object(let p) = patch else { return stripDirectives(patch) }
        for (key, value) in p.sorted(by: { $0.key < $1.key }) where key != "$patch" {
            let child = path.isEmpty ? key : "\(path).\(key)"
            if isDelete(value) { t.removeValue(forKey: key); continue }
            guard let existing = t[key] else { t[key] = stripDirectives(value); continue }
            switch (existing, value) {
            case (.object, .object):
                t[key] = try merge(existing, value, path: child, file: file)
            case (.array(let a), .array(let b)):
                if replacedLists.contains(child) {
                    t[key] = stripDirectives(value)
                } else if let keys = keyedLists[child] {
                    t[key] = .array(try mergeKeyed(a, b, keys: keys, path: child, file: file))
                } else {
                    t[key] = .array(a + b.map(stripDirectives))
                }
            default:
                t[key] = stripDirectives(value)
            }
        }
        return .object(t)
    }

    static func mergeKeyed(_ target: [JSONValue], _ patch: [JSONValue], keys: [String], path: String, file: String) throws -> [JSONValue] {
        var out = target
        for item in patch {
            let match = keys.lazy.compactMap { k -> Int? in
                guard let v = item[k] else { return nil }
                return out.firstIndex { $0[k] == v }
            }.first
            if isDelete(item) {
                guard let match else {
                    throw TalosError.patch(file: file, reason: "$patch: delete in \(path) matches no item (by \(keys.joined(separator: " or ")))")
                }
                out.remove(at: match)
            } else if let match {
                out[match] = try merge(out[match], item, path: path, file: file)
            } else {
                out.append(stripDirectives(item))
            }
        }
        return out
    }

    /// Removes `$patch` directives from a value being inserted as-is.
    static func stripDirectives(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let o):
            return .object(o.filter { $0.key != "$patch" }.mapValues(stripDirectives))
        case .array(let a): return .array(a.filter { !isDelete($0) }.map(stripDirectives))
        default: return v
        }
    }
}
