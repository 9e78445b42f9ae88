import Foundation
import OutpostCore

/// The API server's semantics, independent of HTTP: defaulting, admission, validation, optimistic
/// concurrency and the object lifecycle (graceful pod deletion, finalizers, namespace termination).
/// The HTTP layer and the in-process controllers and kubelet both write through it, so objects created
/// by a Deployment pass the same admission webhooks as objects a client posts.
final class ClusterAPI: Sendable {
    let store: ObjectStore
    let catalog: ResourceCatalog
    let admission: AdmissionChain
    let allocator: Allocator

    init(store: ObjectStore, catalog: ResourceCatalog, admission: AdmissionChain, allocator: Allocator) {
        self.store = store
        self.catalog = catalog
        self.admission = admission
        self.allocator = allocator
    }

    struct WriteOptions: Sendable {
        var dryRun = false
        var fieldManager: String? = nil
        var force = false
        var subresource: String? = nil
        var admit = true
    }

    // MARK: Reads

    func get(_ type: ResourceType, _ ns: String, _ name: String) async throws(SimulatorError) -> JSONValue {
        guard let o = await store.get(type.storeKey, ns, name) else { throw .notFound(type, name) }
        return present(o, as: type)
    }

    func list(_ type: ResourceType, namespace: String?, labels: LabelSelector = .everything,
              fields: FieldSelector? = nil) async -> ([JSONValue], Int) {
        let (all, rev) = await store.list(type.storeKey, namespace: namespace)
        let items = all.filter { labels.matches(object: $0) && (fields?.matches($0) ?? true) }.map { present($0, as: type) }
        return (items, rev)
    }

    /// Stored objects keep the apiVersion they were written with; reads show the requested version.
    func present(_ o: JSONValue, as type: ResourceType) -> JSONValue {
        var o = o
        o["apiVersion"] = .string(type.apiVersion)
        o["kind"] = .string(type.kind)
        return o
    }

    // MARK: Writes

    func create(_ type: ResourceType, namespace: String, _ input: JSONValue, _ opts: WriteOptions = WriteOptions()) async throws(SimulatorError) -> JSONValue {
        guard case .object = input else { throw .badRequest("the request body must be a JSON object") }
        var o = input
        let ns = type.namespaced ? (input.namespace.isEmpty ? namespace : input.namespace) : ""
        if type.namespaced && !namespace.isEmpty && ns != namespace {
            throw .badRequest("the namespace of the provided object does not match the namespace sent on the request")
        }
        if type.namespaced {
            guard let nsObject = await store.get("namespaces", "", ns) else {
                throw .api(code: 404, reason: "NotFound", message: "namespaces \"\(ns)\" not found",
                           details: ["name": .string(ns), "kind": "namespaces"])
            }
            if nsObject["metadata"]?["deletionTimestamp"] != nil {
                throw .api(code: 403, reason: "Forbidden", message: "\(type.plural) \"\(o.name)\" is forbidden: unable to create new content in namespace \(ns) because it is being terminated", details: nil)
            }
        }
        if o.name.isEmpty, let prefix = o["metadata"]?["generateName"]?.stringValue {
            let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
            o.set(["metadata", "name"], .string(prefix + String((0..<5).map { _ in alphabet.randomElement()! })))
        }
        o["apiVersion"] = .string(type.apiVersion)
        o["kind"] = .string(type.kind)
        if type.namespaced { o.set(["metadata", "namespace"], .string(ns)) } else { o["metadata"]?["namespace"] = nil }
        o.set(["metadata", "uid"], .string(UUID().uuidString.lowercased()))
        o.set(["metadata", "creationTimestamp"], .string(Defaults.timestamp()))
        o["metadata"]?["resourceVersion"] = nil
        o["metadata"]?["deletionTimestamp"] = nil
        if o["spec"] != nil { o.set(["metadata", "generation"], 1) }
        Defaults.apply(&o, type: type)
        if opts.admit { o = try await admission.admit(operation: "CREATE", type: type, object: o, old: nil, dryRun: opts.dryRun, api: self) }
        try Validation.validate(o, type: type)
        if opts.admit { o = try await admission.admit(operation: "CREATE", type: type, object: o, old: nil, dryRun: opts.dryRun, api: self, mutating: false) }
        o = try await allocator.allocate(o, type: type, old: nil)
        if let m = opts.fieldManager { o = ServerSideApply.recordUpdate(old: nil, new: o, manager: m, now: Defaults.timestamp()) }
        if opts.dryRun { return o }
        guard let stored = await store.create(type.storeKey, ns, o.name, o) else {
            await allocator.release(o)
            throw .alreadyExists(type, o.name)
        }
        await afterWrite(type, stored)
        return stored
    }

    /// Replaces an object (PUT). With `subresource == "status"` only the status changes; otherwise the
    /// status is kept from the stored object for kinds that have a status subresource.
    func update(_ type: ResourceType, namespace: String, name: String, _ input: JSONValue, _ opts: WriteOptions = WriteOptions()) async throws(SimulatorError) -> JSONValue {
        guard case .object = input else { throw .badRequest("the request body must be a JSON object") }
        if !input.name.isEmpty && input.name != name {
            throw .badRequest("the name of the object (\(input.name)) does not match the name on the URL (\(name))")
        }
        let ns = type.namespaced ? namespace : ""
        guard let current = await store.get(type.storeKey, ns, name) else { throw .notFound(type, name) }
        let expected = input["metadata"]?["resourceVersion"]?.stringValue
        if let expected, !expected.isEmpty, expected != current["metadata"]?["resourceVersion"]?.stringValue {
            throw .conflict(type, name, "the object has been modified; please apply your changes to the latest version and try again")
        }
        var o: JSONValue
        if opts.subresource == "status" {
            o = current
            o["status"] = input["status"]
        } else {
            o = input
            for k in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace"] {
                o["metadata"]?[k] = current["metadata"]?[k]
            }
            if o["metadata"]?["managedFields"] == nil { o["metadata"]?["managedFields"] = current["metadata"]?["managedFields"] }
            if type.subresources.contains("status") { o["status"] = current["status"] }
            o["apiVersion"] = .string(type.apiVersion)
            o["kind"] = .string(type.kind)
            if o["metadata"]?["name"] == nil { o.set(["metadata", "name"], .string(name)) }
            Defaults.apply(&o, type: type)
            if o["spec"] != current["spec"], let g = current["metadata"]?["generation"]?.intValue {
                o.set(["metadata", "generation"], .number(Double(g + 1)))
            }
            if opts.admit { o = try await admission.admit(operation: "UPDATE", type: type, object: o, old: current, dryRun: opts.dryRun, api: self) }
            try Validation.validate(o, type: type)
            if opts.admit { o = try await admission.admit(operation: "UPDATE", type: type, object: o, old: current, dryRun: opts.dryRun, api: self, mutating: false) }
            o = try await allocator.allocate(o, type: type, old: current)
        }
        o["metadata"]?["resourceVersion"] = current["metadata"]?["resourceVersion"]
        if let m = opts.fieldManager { o = ServerSideApply.recordUpdate(old: current, new: o, manager: m, now: Defaults.timestamp()) }
        if opts.dryRun { return o }
        return try await commit(type, ns, name, o, expected: current["metadata"]?["resourceVersion"]?.stringValue)
    }

    /// Writes and finishes a deletion whose finalizers are all gone.
    private func commit(_ type: ResourceType, _ ns: String, _ name: String, _ o: JSONValue, expected: String?) async throws(SimulatorError) -> JSONValue {
        let stored: JSONValue
        do { stored = try await store.update(type.storeKey, ns, name, o, expected: expected) }
        catch .missing { throw .notFound(type, name) }
        catch { throw .conflict(type, name, "the object has been modified; please apply your changes to the latest version and try again") }
        if stored["metadata"]?["deletionTimestamp"] != nil, (stored["metadata"]?["finalizers"]?.arrayValue ?? []).isEmpty,
           !(type.kind == "Pod" && type.group.isEmpty && stored["spec"]?["nodeName"] != nil),
           !(type.kind == "Namespace" && type.group.isEmpty) {
            await store.delete(type.storeKey, ns, name, expectedUID: stored.uid)
            await afterDelete(type, stored)
        }
        await afterWrite(type, stored)
        return stored
    }

    /// PATCH: JSON patch, merge patch, strategic merge patch, or server-side apply (which may create).
    func patch(_ type: ResourceType, namespace: String, name: String, contentType: String, body: Data,
               _ opts: WriteOptions) async throws(SimulatorError) -> JSONValue {
        let ns = type.namespaced ? namespace : ""
        let ct = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        let patchValue: JSONValue
        do {
            patchValue = ct == "application/apply-patch+yaml" ? try YAMLBridge.parse(body) : try JSONValue.parse(body)
        } catch {
            throw .badRequest("the patch body is not valid \(ct == "application/apply-patch+yaml" ? "YAML" : "JSON"): \(error)")
        }
        for attempt in 0..<5 {
            let current = await store.get(type.storeKey, ns, name)
            if ct == "application/apply-patch+yaml" {
                guard let manager = opts.fieldManager, !manager.isEmpty else {
                    throw .badRequest("PATCH with application/apply-patch+yaml requires the fieldManager parameter")
                }
                if !patchValue.name.isEmpty && patchValue.name != name {
                    throw .badRequest("the name of the object (\(patchValue.name)) does not match the name on the URL (\(name))")
                }
                guard let current else {
                    var o = patchValue
                    o.set(["metadata", "name"], .string(name))
                    let created = try await create(type, namespace: ns, o, WriteOptions(dryRun: opts.dryRun))
                    let (owned, _) = ServerSideApply.apply(config: patchValue, live: created, manager: manager, force: true, now: Defaults.timestamp())
                    guard let owned, !opts.dryRun else { return created }
                    return (try? await store.update(type.storeKey, ns, name, owned, expected: nil)) ?? created
                }
                let (merged, conflicts) = ServerSideApply.apply(config: patchValue, live: current, manager: manager,
                                                               force: opts.force, now: Defaults.timestamp())
                guard var merged else {
                    let fields = conflicts.map { "conflict with \"\($0.manager)\": \($0.field)" }.joined(separator: "\n- ")
                    throw .api(code: 409, reason: "Conflict",
                               message: "Apply failed with \(conflicts.count) conflict\(conflicts.count == 1 ? "" : "s"): \(fields)",
                               details: ["causes": .array(conflicts.map { ["reason": "FieldManagerConflict", "message": .string("conflict with \"\($0.manager)\""), "field": .string($0.field)] })])
                }
                merged["metadata"]?["resourceVersion"] = current["metadata"]?["resourceVersion"]
                do {
                    return try await update(type, namespace: ns, name: name, merged, WriteOptions(dryRun: opts.dryRun, subresource: opts.subresource))
                } catch let e where e.httpCode == 409 && attempt < 4 { continue }
            }
            guard let current else { throw .notFound(type, name) }
            var patched: JSONValue
            switch ct {
            case "application/json-patch+json":
                do { patched = try JSONPatch.apply(patchValue, to: current) }
                catch { throw .api(code: 422, reason: "Invalid", message: error.description, details: nil) }
            case "application/merge-patch+json":
                patched = JSONMergePatch.apply(patchValue, to: current)
            case "application/strategic-merge-patch+json":
                patched = StrategicMerge.apply(patchValue, to: current)
            default:
                throw .api(code: 415, reason: "UnsupportedMediaType", message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json", details: nil)
            }
            // A patch carrying its own resourceVersion is a precondition; otherwise use the one we read.
            if patchValue["metadata"]?["resourceVersion"] == nil || ct == "application/json-patch+json" {
                patched.set(["metadata", "resourceVersion"], current["metadata"]?["resourceVersion"] ?? .null)
            }
            var o = opts
            o.force = false
            do { return try await update(type, namespace: ns, name: name, patched, o) }
            catch let e where e.httpCode == 409 && patchValue["metadata"]?["resourceVersion"] == nil && attempt < 4 { continue }
        }
        throw .conflict(type, name, "too many concurrent writers")
    }

    /// DELETE: pods on a node and objects with finalizers are marked and finished later; others go now.
    /// `propagation` is the DeleteOptions policy for dependents (by ownerReferences): Background (the
    /// garbage collector removes them afterwards), Foreground (the owner stays, marked with the
    /// `foregroundDeletion` finalizer, until they are gone) or Orphan (they lose the owner reference).
    @discardableResult
    func delete(_ type: ResourceType, namespace: String, name: String, gracePeriod: Int? = nil,
                preconditionUID: String? = nil, dryRun: Bool = false, propagation: String? = nil) async throws(SimulatorError) -> JSONValue {
        let ns = type.namespaced ? namespace : ""
        guard var current = await store.get(type.storeKey, ns, name) else { throw .notFound(type, name) }
        if let preconditionUID, preconditionUID != current.uid {
            throw .conflict(type, name, "Precondition failed: UID in precondition: \(preconditionUID), UID in object meta: \(current.uid)")
        }
        if let propagation, !["Background", "Foreground", "Orphan"].contains(propagation) {
            throw .badRequest("propagationPolicy must be Background, Foreground or Orphan, not \(propagation)")
        }
        if dryRun { return current }
        // As the API server does: a finalizer the garbage collector acts on and then removes.
        if let finalizer = ["Orphan": "orphan", "Foreground": "foregroundDeletion"][propagation ?? ""],
           current["metadata"]?["deletionTimestamp"] == nil {
            var fs = current["metadata"]?["finalizers"]?.arrayValue ?? []
            if !fs.contains(.string(finalizer)) { fs.append(.string(finalizer)) }
            current.set(["metadata", "finalizers"], .array(fs))
        }
        let isPod = type.kind == "Pod" && type.group.isEmpty
        let isNamespace = type.kind == "Namespace" && type.group.isEmpty
        let finalizers = current["metadata"]?["finalizers"]?.arrayValue ?? []
        // A pod bound to a node is stopped by that node's kubelet first (unless the node does not exist).
        var graceful = false
        if isPod, gracePeriod != 0, let node = current["spec"]?["nodeName"]?.stringValue {
            graceful = await store.get("nodes", "", node) != nil
        }
        if graceful || isNamespace || !finalizers.isEmpty {
            if current["metadata"]?["deletionTimestamp"] != nil { return current }
            var o = current
            o.set(["metadata", "deletionTimestamp"], .string(Defaults.timestamp()))
            o.set(["metadata", "deletionGracePeriodSeconds"], .number(Double(gracePeriod ?? current["spec"]?["terminationGracePeriodSeconds"]?.intValue ?? 30)))
            if isNamespace { o.set(["status", "phase"], "Terminating") }
            do { return try await store.update(type.storeKey, ns, name, o, expected: current["metadata"]?["resourceVersion"]?.stringValue) }
            catch { throw .conflict(type, name, "the object has been modified; please retry") }
        }
        guard let removed = await store.delete(type.storeKey, ns, name, expectedUID: current.uid) else { throw .notFound(type, name) }
        await afterDelete(type, removed)
        return removed
    }

    /// Drops the owner reference to `owner` from every object that has it.
    func orphanDependents(of owner: JSONValue, namespaced: Bool) async {
        for t in catalog.all where namespaced ? t.namespaced : true {
            let (items, _) = await store.list(t.storeKey, namespace: namespaced ? owner.namespace : nil)
            for i in items where (i["metadata"]?["ownerReferences"]?.arrayValue ?? []).contains(where: { $0["uid"]?.stringValue == owner.uid }) {
                await modify(t, i.namespace, i.name) { o in
                    let refs = (o["metadata"]?["ownerReferences"]?.arrayValue ?? []).filter { $0["uid"]?.stringValue != owner.uid }
                    o["metadata"]?["ownerReferences"] = refs.isEmpty ? nil : .array(refs)
                    return true
                }
            }
        }
    }

    /// Removes an object whose graceful deletion has finished (the kubelet's last step for a pod).
    func finalizeDeletion(_ type: ResourceType, _ object: JSONValue) async {
        if let removed = await store.delete(type.storeKey, object.namespace, object.name, expectedUID: object.uid) {
            await afterDelete(type, removed)
        }
    }

    /// Read-modify-write with retries on conflict, for controllers and the kubelet.
    @discardableResult
    func modify(_ type: ResourceType, _ ns: String, _ name: String, status: Bool = false,
                _ change: @Sendable (inout JSONValue) -> Bool) async -> JSONValue? {
        for _ in 0..<8 {
            guard var o = await store.get(type.storeKey, type.namespaced ? ns : "", name) else { return nil }
            guard change(&o) else { return o }
            do {
                return try await update(type, namespace: ns, name: name, o,
                                        WriteOptions(subresource: status ? "status" : nil, admit: !status))
            } catch let e where e.httpCode == 409 { continue } catch { return nil }
        }
        return nil
    }

    // MARK: Side effects

    private func afterWrite(_ type: ResourceType, _ o: JSONValue) async {
        if type.kind == "CustomResourceDefinition" && type.group == "apiextensions.k8s.io" {
            catalog.setCRD(name: o.name, types: o["metadata"]?["deletionTimestamp"] == nil ? ResourceType.fromCRD(o) : [])
            if o["status"]?["conditions"] == nil {
                _ = await modify(type, "", o.name, status: true) { crd in
                    let names = crd["spec"]?["names"] ?? [:]
                    crd["status"] = ["acceptedNames": names, "storedVersions": .array((crd["spec"]?["versions"]?.arrayValue ?? []).compactMap { $0["name"] }),
                                     "conditions": [["type": "Established", "status": "True", "reason": "InitialNamesAccepted", "lastTransitionTime": .string(Defaults.timestamp())],
                                                    ["type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "lastTransitionTime": .string(Defaults.timestamp())]]]
                    return true
                }
            }
        }
    }

    private func afterDelete(_ type: ResourceType, _ o: JSONValue) async {
        await allocator.release(o)
        if type.kind == "CustomResourceDefinition" && type.group == "apiextensions.k8s.io" {
            catalog.setCRD(name: o.name, types: [])
            for t in ResourceType.fromCRD(o).prefix(1) {
                let (items, _) = await store.list(t.storeKey, namespace: nil)
                for i in items { await store.delete(t.storeKey, i.namespace, i.name) }
            }
        }
    }
}
