import Foundation

/// Helm's rendering engine: parses every template of a chart tree into one template set (deepest
/// paths first, so parent definitions win), then executes each non-partial template with its
/// chart's scoped `.Values`, `.Chart`, `.Files`, `.Release`, `.Capabilities`, `.Template`.
enum Engine {
    struct Renderable {
        let source: String
        let data: GoMap
        let basePath: String
    }

    static func render(chart: Chart, top: GoMap, functionOptions: RenderOptionsForFunctions, strict: Bool = false,
                       options: RenderOptions = RenderOptions()) throws -> [String: String] {
        var tpls: [String: Renderable] = [:]
        collect(chart, parentData: top, into: &tpls)
        let set = TemplateSet(functions: FunctionLibrary.standard)
        set.missingKey = strict ? .error : .zero
        set.functionOptions = functionOptions
        let keys = tpls.keys.sorted { a, b in
            let ca = a.filter { $0 == "/" }.count, cb = b.filter { $0 == "/" }.count
            if ca == cb { return a > b }
            return ca > cb
        }
        try options.phase("parse templates") {
            for k in keys {
                do {
                    try set.parse(name: k, text: tpls[k]!.source)
                } catch let e as TemplateParseError {
                    throw ChartError.template(message: cleanupParseError(k, e.description))
                }
            }
        }
        return try options.phase("execute templates") { try execute(keys: keys, tpls: tpls, set: set) }
    }

    static func execute(keys: [String], tpls: [String: Renderable], set: TemplateSet) throws -> [String: String] {
        var rendered: [String: String] = [:]
        for k in keys {
            if MiscPath.base(k).hasPrefix("_") { continue }
            let r = tpls[k]!
            r.data["Template"] = .dict(["Name": .string(k), "BasePath": .string(r.basePath)])
            do {
                let out = try set.execute(name: k, data: .map(r.data))
                rendered[k] = out.replacingOccurrences(of: "<no value>", with: "")
            } catch let e as TemplateExecError {
                throw ChartError.template(message: reformatExecError(e))
            } catch let e as TemplateParseError {
                throw ChartError.template(message: e.description)
            }
        }
        return rendered
    }

    /// recAllTpls: each chart gets its own top-level data, with Values scoped to the subchart.
    @discardableResult
    static func collect(_ chart: Chart, parentData: GoMap, into tpls: inout [String: Renderable]) -> GoMap {
        let subcharts = GoMap()
        var filesMap: [String: [UInt8]] = [:]
        for f in chart.files { filesMap[f.name] = f.data }
        let next = GoMap([
            "Chart": chart.templateMetadata,
            "Files": .object(FilesObject(files: filesMap)),
            "Release": parentData["Release"] ?? .null,
            "Capabilities": parentData["Capabilities"] ?? .null,
            "Values": .dict([:]),
            "Subcharts": .map(subcharts),
        ])
        if chart.isRoot {
            next["Values"] = parentData["Values"] ?? .dict([:])
        } else if case .map(let pv)? = parentData["Values"], case .map(let mine)? = pv[chart.name] {
            next["Values"] = .map(mine)
        }
        for child in chart.subcharts {
            subcharts[child.name] = .map(collect(child, parentData: next, into: &tpls))
        }
        let fullPath = chart.fullPath
        for t in chart.templates {
            if chart.isLibrary && !MiscPath.base(t.name).hasPrefix("_") { continue }
            // templates of one chart share its top map, as in Helm (`.Template` is reset before each)
            tpls[fullPath + "/" + t.name] = Renderable(source: t.text, data: next, basePath: fullPath + "/templates")
        }
        return next
    }

    /// Helm's cleanupParseError: "parse error at (FILE:LINE): MESSAGE".
    static func cleanupParseError(_ filename: String, _ s: String) -> String {
        let tokens = s.components(separatedBy: ": ")
        if tokens.count == 1 { return "parse error in (\(filename)): \(s)" }
        return "parse error at (\(tokens[1])): \(tokens[tokens.count - 1])"
    }

    /// Helm's reformatExecErrorMsg: surfaces `required`/`fail` messages, and turns chains of
    /// template errors into "location / executing ... / message" blocks.
    static func reformatExecError(_ e: TemplateExecError) -> String {
        let full = e.description
        let tokens = full.components(separatedBy: ": ")
        guard tokens.count >= 3 else { return full }
        let location = tokens[1]
        let rest = tokens[2...].joined(separator: ": ")
        if let s = rest.range(of: FunctionLibrary.warnStart), let end = rest.range(of: FunctionLibrary.warnEnd, options: .backwards), s.upperBound <= end.lowerBound {
            return "execution error at (\(location)): \(rest[s.upperBound..<end.lowerBound])"
        }
        var blocks: [String] = []
        var current: (any Error)? = e
        while let c = current {
            guard let te = c as? TemplateExecError else { return full }
            guard let block = traceable(te.description) else { return full }
            if blocks.last != block { blocks.append(block) }
            current = te.cause
        }
        return blocks.joined().trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// parseTemplateExecErrorString + TraceableError.String.
    static func traceable(_ s: String) -> String? {
        let prefix = "template: "
        guard s.hasPrefix(prefix) else { return nil }
        let rem = String(s.dropFirst(prefix.count))
        func block(_ location: String, _ fn: String, _ msg: String) -> String {
            var out = ""
            if !location.isEmpty { out += location + "\n  " }
            if !fn.isEmpty { out += fn + "\n    " }
            if !msg.isEmpty { out += msg + "\n" }
            return out
        }
        if rem.hasPrefix("no template ") { return block("", "", s) }
        if let r = rem.range(of: ": executing ") {
            let name = String(rem[..<r.lowerBound])
            let after = rem[r.upperBound...]
            if after.first == "\"", let q = after.dropFirst().firstIndex(of: "\"") {
                let fn = String(after[after.index(after: after.startIndex)..<q])
                let afterFn = after[after.index(after: q)...]
                if afterFn.hasPrefix(" at <"), let close = afterFn.range(of: ">: ") {
                    let loc = String(afterFn[afterFn.index(afterFn.startIndex, offsetBy: 5)..<close.lowerBound])
                    var msg = String(afterFn[close.upperBound...])
                    if let cut = msg.range(of: " template:") { msg = String(msg[..<cut.lowerBound]) }
                    return block(name, "executing \"\(fn)\" at <\(loc)>:", msg)
                }
            }
        }
        if let sep = rem.range(of: ": ", options: .backwards) {
            var msg = String(rem[sep.upperBound...])
            if let cut = msg.range(of: " template:") { msg = String(msg[..<cut.lowerBound]) }
            return block(String(rem[..<sep.lowerBound]), "", msg)
        }
        return nil
    }
}
