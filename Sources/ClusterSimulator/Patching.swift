import Foundation
import OutpostCore

/// Strategic merge patch as kubectl's client-side apply sends it: like a merge patch, except that lists
/// of objects with a merge key (containers and volumes by name, volumeMounts by mountPath, ports by
/// port number) merge element by element, and the `$patch`, `$retainKeys`, `$setElementOrder` and
/// `$deleteFromPrimitiveList` directives are honoured.
enum StrategicMerge {
    static func apply(_ patch: JSONValue, to target: JSONValue) -> JSONValue {
        guard case .object(var p) = patch else { return patch }
        if p["$patch"]?.stringValue == "replace" { p["$patch"] = nil; return strip(.object(p)) }
        if p["$patch"]?.stringValue == "delete" { return .null }
        var result: [String: JSONValue]
        if case .object(let t) = target { result = t } else { result = [:] }
        if let retain = p["$retainKeys"]?.arrayValue?.compactMap(\.stringValue) {
            result = result.filter { retain.contains($0.key) }
            p["$retainKeys"] = nil
        }
        for (k, v) in p {
            if k.hasPrefix("$setElementOrder/") || k == "$patch" { continue }
            if k.hasPrefix("$deleteFromPrimitiveList/") {
                let field = String(k.dropFirst("$deleteFromPrimitiveList/".count))
                let remove = v.arrayValue ?? []
                if let list = result[field]?.arrayValue { result[field] = .array(list.filter { !remove.contains($0) }) }
                continue
            }
            if v.isNull { result[k] = nil; continue }
            switch (v, result[k]) {
            case (.array(let pl), .array(let tl)?):
                result[k] = mergeList(pl, tl)
            case (.object, let existing):
                let merged = apply(v, to: existing ?? .null)
                result[k] = merged.isNull ? nil : merged
            default:
                result[k] = strip(v)
            }
        }
        return .object(result)
    }

    /// The merge key of a list, if its elements are objects that all carry one.
    static func mergeKey(_ elements: [JSONValue]) -> String? {
        for key in ["name", "mountPath", "containerPort", "port", "devicePath", "ip"] {
            if !elements.isEmpty, elements.allSatisfy({ $0[key] != nil && !($0[key]!.isNull) }) { return key }
        }
        return nil
    }

    private static func mergeList(_ patch: [JSONValue], _ target: [JSONValue]) -> JSONValue {
        let candidates = patch.filter { $0["$patch"] == nil }
        guard let key = mergeKey(candidates.isEmpty ? patch : candidates) ?? mergeKey(target),
              patch.allSatisfy({ $0.objectValue != nil }) else {
            return .array(patch.map(strip))
        }
        var result = target
        for element in patch {
            guard let k = element[key] else { continue }
            let index = result.firstIndex { $0[key] == k }
            if element["$patch"]?.stringValue == "delete" {
                if let index { result.remove(at: index) }
            } else if let index {
                result[index] = apply(element, to: result[index])
            } else {
                result.append(strip(element))
            }
        }
        return .array(result)
    }

    /// Removes directive keys from a value that is inserted as a whole.
    static func strip(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let o):
            return .object(o.filter { !$0.key.hasPrefix("$") }.mapValues(strip))
        case .array(let a): return .array(a.map(strip))
        default: return v
        }
    }
}

/// Server-side apply: field ownership per manager in `metadata.managedFields` (FieldsV1 format),
/// conflicts when a manager applies a different value to a field another manager owns (409 unless
/// `force`), and removal of fields a manager stops applying.
enum ServerSideApply {
    typealias FieldPath = [String]

    /// Leaf field paths of `value` in FieldsV1 spelling (`f:spec`, `k:{"name":"web"}`).
    static func fields(_ value: JSONValue, prefix: FieldPath = []) -> [FieldPath: JSONValue] {
        var out: [FieldPath: JSONValue] = [:]
        switch value {
        case .object(let o) where !o.isEmpty:
            for (k, v) in o {
                if prefix.isEmpty && ["apiVersion", "kind", "status"].contains(k) { continue }
                if prefix == ["f:metadata"] && !["labels", "annotations", "finalizers", "ownerReferences"].contains(k) { continue }
                out.merge(fields(v, prefix: prefix + ["f:" + k])) { a, _ in a }
            }
        case .array(let a) where !a.isEmpty:
            if let key = StrategicMerge.mergeKey(a), a.allSatisfy({ $0.objectValue != nil }) {
                for e in a {
                    let keyJSON = (try? JSONValue.object([key: e[key]!]).encoded()).map { String(decoding: $0, as: UTF8.self) } ?? ""
                    out.merge(fields(e, prefix: prefix + ["k:" + keyJSON])) { a, _ in a }
                }
            } else {
                out[prefix] = value
            }
        default:
            out[prefix] = value
        }
        return out
    }

    /// The value at a field path in `object`.
    static func value(at path: FieldPath, in object: JSONValue) -> JSONValue? {
        var cur: JSONValue? = object
        for c in path {
            guard let v = cur else { return nil }
            if c.hasPrefix("f:") { cur = v[String(c.dropFirst(2))] }
            else if c.hasPrefix("k:"), let (key, kv) = parseKey(c) {
                cur = v.arrayValue?.first { $0[key] == kv }
            } else { return nil }
        }
        return cur
    }

    /// Removes the field at `path` from `object`.
    static func remove(_ path: FieldPath, from object: JSONValue) -> JSONValue {
        guard let head = path.first else { return object }
        let rest = Array(path.dropFirst())
        if head.hasPrefix("f:"), case .object(var o) = object {
            let k = String(head.dropFirst(2))
            if rest.isEmpty { o[k] = nil } else if let child = o[k] {
                let c = remove(rest, from: child)
                if c.objectValue?.isEmpty == true || c.arrayValue?.isEmpty == true { o[k] = nil } else { o[k] = c }
            }
            return .object(o)
        }
        if head.hasPrefix("k:"), case .array(var a) = object, let (key, kv) = parseKey(head),
           let i = a.firstIndex(where: { $0[key] == kv }) {
            if rest.isEmpty { a.remove(at: i) } else {
                let c = remove(rest, from: a[i])
                // An element reduced to its key alone is gone.
                if c.objectValue?.keys.sorted() == [key] { a.remove(at: i) } else { a[i] = c }
            }
            return .array(a)
        }
        return object
    }

    private static func parseKey(_ c: String) -> (String, JSONValue)? {
        guard let v = try? JSONValue.parse(Data(c.dropFirst(2).utf8)), let (k, kv) = v.objectValue?.first else { return nil }
        return (k, kv)
    }

    /// FieldsV1 JSON for a set of paths.
    static func fieldsV1(_ paths: Set<FieldPath>) -> JSONValue {
        var root: JSONValue = [:]
        for p in paths {
            var cursor: [String] = []
            for c in p {
                cursor.append(c)
                if root.at(cursor) == nil { root.set(cursor, [:]) }
            }
        }
        return root
    }

    /// Paths from FieldsV1 JSON (leaves only).
    static func paths(_ fieldsV1: JSONValue, prefix: FieldPath = []) -> Set<FieldPath> {
        guard case .object(let o) = fieldsV1, !o.isEmpty else { return prefix.isEmpty ? [] : [prefix] }
        var out: Set<FieldPath> = []
        for (k, v) in o where k != "." { out.formUnion(paths(v, prefix: prefix + [k])) }
        return out
    }

    struct Conflict: Sendable { var manager: String; var field: String }

    /// Applies `config` as `manager`; returns the new object, or the conflicts when not forced.
    static func apply(config: JSONValue, live: JSONValue, manager: String, force: Bool, now: String) -> (JSONValue?, [Conflict]) {
        let applied = fields(config)
        var managed = live["metadata"]?["managedFields"]?.arrayValue ?? []
        var conflicts: [Conflict] = []
        var previous: Set<FieldPath> = []
        for (i, entry) in managed.enumerated() {
            let owner = entry["manager"]?.stringValue ?? ""
            var owned = paths(entry["fieldsV1"] ?? [:])
            if owner == manager && entry["operation"]?.stringValue == "Apply" { previous = owned; continue }
            for (p, v) in applied where owned.contains(p) && value(at: p, in: live) != v {
                if force { owned.remove(p) } else {
                    conflicts.append(Conflict(manager: owner, field: p.map { $0.hasPrefix("f:") ? "." + $0.dropFirst(2) : "[\($0.dropFirst(2))]" }.joined()))
                }
            }
            managed[i]["fieldsV1"] = fieldsV1(owned)
        }
        if !conflicts.isEmpty { return (nil, conflicts) }
        var merged = StrategicMerge.apply(config, to: live)
        let others = managed.filter { !($0["manager"]?.stringValue == manager && $0["operation"]?.stringValue == "Apply") }
            .reduce(into: Set<FieldPath>()) { $0.formUnion(paths($1["fieldsV1"] ?? [:])) }
        for p in previous where applied[p] == nil && !others.contains(p) { merged = remove(p, from: merged) }
        managed.removeAll { $0["manager"]?.stringValue == manager && $0["operation"]?.stringValue == "Apply" }
        managed = managed.filter { !paths($0["fieldsV1"] ?? [:]).isEmpty }
        managed.append(["manager": .string(manager), "operation": "Apply", "apiVersion": config["apiVersion"] ?? "v1",
                        "time": .string(now), "fieldsType": "FieldsV1", "fieldsV1": fieldsV1(Set(applied.keys))])
        merged["metadata"]?["managedFields"] = .array(managed)
        return (merged, [])
    }

    /// Records an ordinary write (create, update, patch) by `manager`: it now owns every field it changed.
    static func recordUpdate(old: JSONValue?, new: JSONValue, manager: String, now: String) -> JSONValue {
        let before = old.map { fields($0) } ?? [:]
        let after = fields(new)
        let changed = Set(after.filter { before[$0.key] != $0.value }.keys)
        if changed.isEmpty { return new }
        var managed = new["metadata"]?["managedFields"]?.arrayValue ?? []
        var mine: Set<FieldPath> = changed
        for (i, entry) in managed.enumerated() {
            let owned = paths(entry["fieldsV1"] ?? [:])
            if entry["manager"]?.stringValue == manager && entry["operation"]?.stringValue == "Update" {
                mine.formUnion(owned.filter { after[$0] != nil })
                continue
            }
            managed[i]["fieldsV1"] = fieldsV1(owned.subtracting(changed))
        }
        managed.removeAll { ($0["manager"]?.stringValue == manager && $0["operation"]?.stringValue == "Update")
            || paths($0["fieldsV1"] ?? [:]).isEmpty }
        managed.append(["manager": .string(manager), "operation": "Update", "apiVersion": new["apiVersion"] ?? "v1",
                        "time": .string(now), "fieldsType": "FieldsV1", "fieldsV1": fieldsV1(mine)])
        var out = new
        out["metadata"]?["managedFields"] = .array(managed)
        return out
    }
}
