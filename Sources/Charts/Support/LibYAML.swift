import CYaml

/// A YAML composer over libyaml's event stream that builds template values directly, with
/// go-yaml v2's tolerance (duplicate keys: the last one wins) and its error lines.
enum LibYAML {
    static func parseAll(_ text: String) throws -> [Value] {
        var bytes = Array(text.utf8)
        if bytes.isEmpty { return [] }
        bytes.append(0)
        return try bytes.withUnsafeBufferPointer { buf -> [Value] in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { throw YAMLCodec.SyntaxError(line: 0, problem: "cannot initialize the YAML parser") }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buf.baseAddress, buf.count - 1)
            var c = Composer(parser: parser)
            defer { parser = c.parser }
            return try c.documents()
        }
    }

    struct Event {
        let type: yaml_event_type_t
        let text: String
        let plain: Bool
        let anchor: String?
        let tag: String?
    }

    struct Composer {
        var parser: yaml_parser_t
        var anchors: [String: Value] = [:]

        mutating func next() throws -> Event {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else { throw error() }
            defer { yaml_event_delete(&event) }
            func str(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? { p.map { String(cString: $0) } }
            switch event.type {
            case YAML_SCALAR_EVENT:
                let s = event.data.scalar
                let text = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
                return Event(type: event.type, text: text, plain: s.style == YAML_PLAIN_SCALAR_STYLE, anchor: str(s.anchor), tag: str(s.tag))
            case YAML_ALIAS_EVENT:
                return Event(type: event.type, text: str(event.data.alias.anchor) ?? "", plain: false, anchor: nil, tag: nil)
            case YAML_SEQUENCE_START_EVENT:
                return Event(type: event.type, text: "", plain: false, anchor: str(event.data.sequence_start.anchor), tag: nil)
            case YAML_MAPPING_START_EVENT:
                return Event(type: event.type, text: "", plain: false, anchor: str(event.data.mapping_start.anchor), tag: nil)
            default:
                return Event(type: event.type, text: "", plain: false, anchor: nil, tag: nil)
            }
        }

        /// go-yaml v2's "yaml: line N: problem" (scanner errors count lines from 1, parser errors from 0).
        func error() -> YAMLCodec.SyntaxError {
            let problem = parser.problem.map { String(cString: $0) } ?? "unknown problem parsing YAML content"
            var line = 0
            if parser.problem_mark.line != 0 {
                line = Int(parser.problem_mark.line)
                if parser.error == YAML_SCANNER_ERROR { line += 1 }
            } else if parser.context_mark.line != 0 {
                line = Int(parser.context_mark.line)
            }
            return YAMLCodec.SyntaxError(line: line, problem: problem)
        }

        mutating func documents() throws -> [Value] {
            var out: [Value] = []
            while true {
                let e = try next()
                switch e.type {
                case YAML_STREAM_START_EVENT: continue
                case YAML_STREAM_END_EVENT: return out
                case YAML_DOCUMENT_START_EVENT:
                    anchors = [:]
                    let root = try next()
                    out.append(try node(root).value)
                    _ = try next()  // document end
                default: continue
                }
            }
        }

        /// A node's value, and for plain scalars the text (for map keys).
        mutating func node(_ e: Event) throws -> (value: Value, plainText: String?) {
            var result: Value
            var plainText: String?
            switch e.type {
            case YAML_SCALAR_EVENT:
                if e.tag == "tag:yaml.org,2002:str" || e.tag == "!" { result = .string(e.text) }
                else if e.plain { result = YAMLCodec.resolvePlain(e.text); plainText = e.text }
                else { result = .string(e.text) }
            case YAML_ALIAS_EVENT:
                return (anchors[e.text] ?? .null, nil)
            case YAML_SEQUENCE_START_EVENT:
                var items: [Value] = []
                while true {
                    let n = try next()
                    if n.type == YAML_SEQUENCE_END_EVENT { break }
                    items.append(try node(n).value)
                }
                result = .list(items)
            case YAML_MAPPING_START_EVENT:
                var m: [String: Value] = [:]
                var merges: [[String: Value]] = []
                while true {
                    let k = try next()
                    if k.type == YAML_MAPPING_END_EVENT { break }
                    let key = try node(k)
                    let v = try node(try next()).value
                    if key.plainText == "<<" {
                        switch v {
                        case .map(let mm): merges.append(mm.storage)
                        case .list(let l): for case .map(let mm) in l { merges.append(mm.storage) }
                        default: break
                        }
                        continue
                    }
                    m[keyString(key)] = v
                }
                for mm in merges { for (k, v) in mm where m[k] == nil { m[k] = v } }
                result = .dict(m)
            default:
                result = .null
            }
            if let a = e.anchor { anchors[a] = result }
            return (result, plainText)
        }

        /// JSON object keys: strings as written, other scalars in their JSON spelling.
        func keyString(_ key: (value: Value, plainText: String?)) -> String {
            switch key.value {
            case .string(let s): return s
            case .null: return "null"
            case .bool(let b): return b ? "true" : "false"
            case .float(let f): return JSONCodec.formatNumber(f)
            default: return JSONCodec.encode(key.value)
            }
        }
    }
}
