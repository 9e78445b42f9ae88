import Foundation

/// Composing components from other local definitions (`components[].import.path`), following
/// Zarf's rules: the imported component's paths are rewritten relative to the importing package,
/// the importer's name/required/default/description/flavor override, resources are appended, charts
/// and manifests of the same name are merged, and the imported package's variables and constants
/// are added (first definition wins). OCI (`import.url`) imports need the network and are refused.
extension PackageDefinition {
    static func compatible(_ c: ZarfComponent, architecture: String, flavor: String?) -> Bool {
        let a = nonEmpty(c.only?.cluster?.architecture)
        let f = nonEmpty(c.only?.flavor)
        return (a == nil || a == architecture) && (f == nil || f == flavor)
    }

    static func resolveImports(_ pkg: ZarfPackage, baseDirectory: String, architecture: String, flavor: String?,
                               stack: [String]) throws -> ZarfPackage {
        var pkg = pkg
        var variables = pkg.variables ?? []
        var constants = pkg.constants ?? []
        var components: [ZarfComponent] = []
        for component in pkg.components where compatible(component, architecture: architecture, flavor: flavor) {
            guard let imp = component.import, nonEmpty(imp.path) != nil || nonEmpty(imp.url) != nil else {
                components.append(component)
                continue
            }
            guard let importPath = nonEmpty(imp.path) else {
                throw PackagingError.importFailed(component: component.name,
                    reason: "\(imp.url ?? ""): importing from an OCI registry is not supported; import a local path instead")
            }
            let childDir = URL(fileURLWithPath: baseDirectory).appendingPathComponent(importPath).standardizedFileURL.path
            if stack.contains(childDir) {
                throw PackagingError.importFailed(component: component.name, reason: "\(importPath) is imported in a cycle")
            }
            let childFile = childDir + "/" + fileName
            guard FileManager.default.fileExists(atPath: childFile) else {
                throw PackagingError.importFailed(component: component.name, reason: "\(childFile) does not exist")
            }
            let name = nonEmpty(imp.name) ?? component.name
            var child = try parse(text: try readText(childFile), file: childFile)
            child.components = child.components.filter { $0.name == name }
            child = try resolveImports(child, baseDirectory: childDir, architecture: architecture, flavor: flavor,
                                       stack: stack + [childDir])
            let found = child.components.filter { $0.name == name && compatible($0, architecture: architecture, flavor: flavor) }
            guard found.count == 1 else {
                throw PackagingError.importFailed(component: component.name, reason: found.isEmpty
                    ? "no compatible component named \(name) in \(childFile)"
                    : "several components named \(name) in \(childFile)")
            }
            var composed = fixPaths(found[0], relativeTo: importPath, baseDirectory: baseDirectory)
            composed = try overrideMetadata(composed, with: component)
            composed = overrideActions(composed, with: component)
            composed = overrideResources(composed, with: component)
            composed.import = nil
            components.append(composed)
            variables += child.variables ?? []
            constants += child.constants ?? []
        }
        pkg.components = components
        var seenVars = Set<String>(), seenConsts = Set<String>()
        let vars = variables.filter { seenVars.insert($0.name).inserted }
        let consts = constants.filter { seenConsts.insert($0.name).inserted }
        pkg.variables = vars.isEmpty ? nil : vars
        pkg.constants = consts.isEmpty ? nil : consts
        return pkg
    }

    /// Joins a relative path onto `base` and removes `.` and `a/..` steps, keeping it relative.
    static func joinRelative(_ base: String, _ path: String) -> String {
        if path.contains("://") || path.hasPrefix("/") { return path }
        var parts: [String] = []
        for p in (base + "/" + path).split(separator: "/").map(String.init) {
            if p == "." || p.isEmpty { continue }
            if p == "..", let last = parts.last, last != ".." { parts.removeLast(); continue }
            parts.append(p)
        }
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    static func fixPaths(_ child: ZarfComponent, relativeTo head: String, baseDirectory: String) -> ZarfComponent {
        var c = child
        c.files = c.files?.map { var f = $0; f.source = joinRelative(head, f.source); return f }
        c.imageArchives = c.imageArchives?.map { var a = $0; a.path = joinRelative(head, a.path); return a }
        c.charts = c.charts?.map { chart in
            var ch = chart
            ch.valuesFiles = ch.valuesFiles?.map { joinRelative(head, $0) }
            if let lp = nonEmpty(ch.localPath) { ch.localPath = joinRelative(head, lp) }
            return ch
        }
        c.manifests = c.manifests?.map { m in
            var mm = m
            mm.files = mm.files?.map { joinRelative(head, $0) }
            mm.kustomizations = mm.kustomizations?.map { k in
                let composed = joinRelative(head, k)
                return FileManager.default.fileExists(atPath: baseDirectory + "/" + composed) ? composed : k
            }
            return mm
        }
        c.dataInjections = c.dataInjections?.map { var d = $0; d.source = joinRelative(head, d.source); return d }
        if var set = c.actions?.onCreate {
            let defaultDir = set.defaults?.dir ?? ""
            func fix(_ list: [ZarfComponentAction]?) -> [ZarfComponentAction]? {
                list?.map { var a = $0; a.dir = joinRelative(head, a.dir ?? defaultDir); return a }
            }
            set.before = fix(set.before)
            set.after = fix(set.after)
            set.onSuccess = fix(set.onSuccess)
            set.onFailure = fix(set.onFailure)
            c.actions?.onCreate = set
        }
        return c
    }

    static func overrideMetadata(_ comp: ZarfComponent, with parent: ZarfComponent) throws -> ZarfComponent {
        var c = comp
        c.name = parent.name
        c.default = parent.default
        c.required = parent.required
        if let d = nonEmpty(parent.description) { c.description = d }
        if let f = nonEmpty(parent.only?.flavor) {
            if c.only == nil { c.only = ZarfComponentOnlyTarget() }
            c.only?.flavor = f
        }
        if let os = nonEmpty(parent.only?.localOS) {
            if let existing = nonEmpty(c.only?.localOS) {
                throw PackagingError.importFailed(component: parent.name,
                    reason: "only.localOS \"\(existing)\" cannot be redefined as \"\(os)\" during compose")
            }
            if c.only == nil { c.only = ZarfComponentOnlyTarget() }
            c.only?.localOS = os
        }
        c.group = parent.group
        if let ps = parent.scripts {
            var s = c.scripts ?? ZarfDeprecatedScripts()
            s.before = concat(s.before, ps.before)
            s.after = concat(s.after, ps.after)
            if ps.retry == true { s.retry = true }
            if ps.showOutput == true { s.showOutput = true }
            if let t = ps.timeoutSeconds, t > 0 { s.timeoutSeconds = t }
            c.scripts = s
        }
        return c
    }

    static func concat<T>(_ a: [T]?, _ b: [T]?) -> [T]? {
        let r = (a ?? []) + (b ?? [])
        return r.isEmpty ? nil : r
    }

    static func overrideActions(_ comp: ZarfComponent, with parent: ZarfComponent) -> ZarfComponent {
        var c = comp
        func merge(_ child: ZarfComponentActionSet?, _ p: ZarfComponentActionSet?) -> ZarfComponentActionSet? {
            guard child != nil || p != nil else { return nil }
            var s = child ?? ZarfComponentActionSet()
            s.defaults = p?.defaults
            s.before = concat(s.before, p?.before)
            s.after = concat(s.after, p?.after)
            s.onSuccess = concat(s.onSuccess, p?.onSuccess)
            s.onFailure = concat(s.onFailure, p?.onFailure)
            return s
        }
        guard c.actions != nil || parent.actions != nil else { return c }
        var a = c.actions ?? ZarfComponentActions()
        a.onCreate = merge(a.onCreate, parent.actions?.onCreate)
        a.onDeploy = merge(a.onDeploy, parent.actions?.onDeploy)
        a.onRemove = merge(a.onRemove, parent.actions?.onRemove)
        c.actions = a
        return c
    }

    static func overrideResources(_ comp: ZarfComponent, with parent: ZarfComponent) -> ZarfComponent {
        var c = comp
        c.dataInjections = concat(c.dataInjections, parent.dataInjections)
        c.files = concat(c.files, parent.files)
        c.images = concat(c.images, parent.images)
        c.repos = concat(c.repos, parent.repos)
        for pc in parent.charts ?? [] {
            if let i = c.charts?.firstIndex(where: { $0.name == pc.name }) {
                if let ns = nonEmpty(pc.namespace) { c.charts![i].namespace = ns }
                if let rn = nonEmpty(pc.releaseName) { c.charts![i].releaseName = rn }
                if let v = nonEmpty(pc.version) { c.charts![i].version = v }
                if let u = nonEmpty(pc.url) { c.charts![i].url = u }
                c.charts![i].valuesFiles = concat(c.charts![i].valuesFiles, pc.valuesFiles)
                c.charts![i].variables = concat(c.charts![i].variables, pc.variables)
                c.charts![i].values = concat(c.charts![i].values, pc.values)
            } else {
                c.charts = (c.charts ?? []) + [pc]
            }
        }
        for pm in parent.manifests ?? [] {
            if let i = c.manifests?.firstIndex(where: { $0.name == pm.name }) {
                if let ns = nonEmpty(pm.namespace) { c.manifests![i].namespace = ns }
                c.manifests![i].files = concat(c.manifests![i].files, pm.files)
                c.manifests![i].kustomizations = concat(c.manifests![i].kustomizations, pm.kustomizations)
            } else {
                c.manifests = (c.manifests ?? []) + [pm]
            }
        }
        c.healthChecks = concat(c.healthChecks, parent.healthChecks)
        c.imageArchives = concat(c.imageArchives, parent.imageArchives)
        return c
    }
}
