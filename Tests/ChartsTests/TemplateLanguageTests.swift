@testable import Charts
import Foundation
import Testing

/// Renders one template with Helm's function map and a YAML-described dot.
func renderTemplate(_ text: String, _ yamlData: String = "{}", name: String = "t") throws -> String {
    let set = TemplateSet(functions: FunctionLibrary.standard)
    set.functionOptions = RenderOptionsForFunctions(deterministic: true)
    try set.parse(name: name, text: text)
    return try set.execute(name: name, data: try YAMLCodec.decode(yamlData))
}

/// Go text/template semantics, one documented behaviour per row (from the text/template package docs).
@Suite struct TemplateLanguageTests {
    static let cases: [(String, String, String)] = [
        // (template, data as YAML, expected)
        ("plain text", "{}", "plain text"),
        ("{{ .a }}", "a: hello", "hello"),
        ("{{ .a.b.c }}", "a: {b: {c: deep}}", "deep"),
        ("{{ .missing }}", "{}", "<no value>"),
        ("{{- \"x\" -}}  \n  y", "{}", "xy"),
        ("a  {{- /* comment */ -}}  b", "{}", "ab"),
        ("{{/* only a comment */}}", "{}", ""),
        ("{{ 3 }} {{ 1.5 }} {{ 1e3 }} {{ 0x10 }} {{ 'a' }} {{ -7 }}", "{}", "3 1.5 1000 16 97 -7"),
        ("{{ true }} {{ false }}", "{}", "true false"),
        ("{{ `raw\\n` }}", "{}", "raw\\n"),
        ("{{ \"esc\\tq\\\"\" }}", "{}", "esc\tq\""),
        ("{{ .num }}", "num: 1000000", "1e+06"),
        ("{{ .n }}|{{ index . \"false\" }}", "n: 1", "<no value>|1"),  // YAML 1.1: the key n is the boolean false
        ("{{ .num }} {{ .f }}", "num: 80\nf: 3.14", "80 3.14"),
        ("{{ .l }}", "l: [1, a, true]", "[1 a true]"),
        ("{{ .m }}", "m: {b: 2, a: 1}", "map[a:1 b:2]"),
        ("{{ if .a }}yes{{ else }}no{{ end }}", "a: 0", "no"),
        ("{{ if .a }}yes{{ else }}no{{ end }}", "a: \"\"", "no"),
        ("{{ if .a }}yes{{ else }}no{{ end }}", "a: []", "no"),
        ("{{ if .a }}yes{{ else }}no{{ end }}", "a: {k: v}", "yes"),
        ("{{ if .x }}1{{ else if .b }}2{{ else }}3{{ end }}", "b: true", "2"),
        ("{{ with .a }}{{ . }}{{ else }}none{{ end }}", "a: val", "val"),
        ("{{ with .a }}{{ . }}{{ else }}none{{ end }}", "{}", "none"),
        ("{{ with .x }}x{{ else with .w }}{{ . }}{{ end }}", "w: why", "why"),
        ("{{ range .l }}[{{ . }}]{{ end }}", "l: [a, b]", "[a][b]"),
        ("{{ range $i, $e := .l }}{{ $i }}={{ $e }};{{ end }}", "l: [a, b]", "0=a;1=b;"),
        ("{{ range $k, $v := .m }}{{ $k }}:{{ $v }},{{ end }}", "m: {z: 1, a: 2, m: 3}", "a:2,m:3,z:1,"),
        ("{{ range .l }}x{{ else }}empty{{ end }}", "l: []", "empty"),
        ("{{ range .missing }}x{{ else }}empty{{ end }}", "{}", "empty"),
        ("{{ range .l }}{{ if eq . \"c\" }}{{ break }}{{ end }}{{ . }}{{ end }}", "l: [a, b, c, d]", "ab"),
        ("{{ range .l }}{{ if eq . \"b\" }}{{ continue }}{{ end }}{{ . }}{{ end }}", "l: [a, b, c]", "ac"),
        ("{{ range .l }}{{ if eq . 2.0 }}{{ continue }}{{ end }}{{ . }}{{ end }}", "l: [1, 2, 3]", "13"),
        ("{{ range 3 }}{{ . }}{{ end }}", "{}", "012"),
        ("{{ $x := 1 }}{{ $x }}{{ $x = 2 }}{{ $x }}", "{}", "12"),
        ("{{ $x := \"outer\" }}{{ if true }}{{ $x := \"inner\" }}{{ $x }}{{ end }} {{ $x }}", "{}", "inner outer"),
        ("{{ $x := 0 }}{{ range .l }}{{ $x = . }}{{ end }}{{ $x }}", "l: [7, 8]", "8"),
        ("{{ range .l }}{{ $.top }}{{ end }}", "top: T\nl: [1, 2]", "TT"),
        ("{{ define \"T1\" }}ONE{{ end }}{{ template \"T1\" }}", "{}", "ONE"),
        ("{{ define \"T2\" }}<{{ . }}>{{ end }}{{ template \"T2\" .a }}", "a: dot", "<dot>"),
        ("{{ block \"B\" . }}default {{ .a }}{{ end }}", "a: 1", "default 1"),
        ("{{ \"a\" | printf \"%s-%s\" \"b\" }}", "{}", "b-a"),
        ("{{ .a | len }}", "a: [1, 2, 3]", "3"),
        ("{{ len \"héllo\" }}", "{}", "6"),
        ("{{ index .l 1 }} {{ index .m \"k\" }} {{ index .nested 0 1 }}", "l: [a, b]\nm: {k: v}\nnested: [[p, q]]", "b v q"),
        ("{{ index .m \"none\" }}", "m: {k: v}", "<no value>"),
        ("{{ slice (list 1 2 3) 1 }}", "{}", "[2 3]"),
        ("{{ and 1 0 2 }} {{ and 1 2 }} {{ or 0 \"\" }} {{ or 0 \"x\" 1 }}", "{}", "0 2  x"),
        ("{{ and false .missing.field }}", "{}", "false"),
        ("{{ or true .missing.field }}", "{}", "true"),
        ("{{ not 0 }} {{ not \"a\" }}", "{}", "true false"),
        ("{{ eq 1 1 }} {{ eq \"a\" \"b\" \"a\" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }}", "{}", "true true true true true true false"),
        ("{{ eq .missing \"x\" }}", "{}", "false"),
        ("{{ print \"a\" 1 2 \"b\" }}|{{ println 1 \"x\" }}", "{}", "a1 2b|1 x\n"),
        ("{{ printf \"%d %5.2f %-4s| %q %x %X %o %b %t %v %T %%\" 42 3.14159 \"ab\" \"q\" 255 255 8 5 true .l .l }}", "l: [1]", "42  3.14 ab  | \"q\" ff FF 10 101 true [1] []interface {} %"),
        ("{{ printf \"%05d|%+d|%x|%c|%U|%e|%g\" 42 5 \"hi\" 65 65 1234.5678 0.000012 }}", "{}", "00042|+5|6869|A|U+0041|1.234568e+03|1.2e-05"),
        ("{{ printf \"%d\" \"s\" }}|{{ printf \"%s\" }}|{{ printf \"x\" 1 }}", "{}", "%!d(string=s)|%!s(MISSING)|x%!(EXTRA int=1)"),
        ("{{ printf \"%v %s\" .f .f }}", "f: 2.5", "2.5 %!s(float64=2.5)"),
        ("{{ html \"<a href='x'>&</a>\" }}", "{}", "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"),
        ("{{ js \"it's <b>\" }}", "{}", "it\\'s \\u003Cb\\u003E"),
        ("{{ urlquery \"a b&c\" }}", "{}", "a+b%26c"),
        ("{{ (.m).k }} {{ (index .l 0).name }}", "m: {k: v}\nl: [{name: nm}]", "v nm"),
        ("{{ .m.k | upper | printf \"%s!\" }}", "m: {k: v}", "V!"),
    ]

    @Test(arguments: cases.indices)
    func documentedBehaviour(_ i: Int) throws {
        let (tpl, data, expected) = Self.cases[i]
        #expect(try renderTemplate(tpl, data) == expected, "template: \(tpl)")
    }

    static let errors: [(String, String, String)] = [
        // (template, data, expected error text)
        ("{{ .a.b }}", "{}", "template: t:1:5: executing \"t\" at <.a.b>: nil pointer evaluating interface {}.b"),
        ("line1\n  {{ nofunc }}", "{}", "template: t:2: function \"nofunc\" not defined"),
        ("{{ if }}", "{}", "template: t:1: missing value for if"),
        ("{{ end }}", "{}", "template: t:1: unexpected {{end}}"),
        ("{{ if true }}", "{}", "template: t:1: unexpected EOF"),
        ("{{ $u }}", "{}", "template: t:1: undefined variable \"$u\""),
        ("{{ break }}", "{}", "template: t:1: {{break}} outside {{range}}"),
        ("{{ template \"nope\" }}", "{}", "template: t:1:12: executing \"t\" at <{{template \"nope\"}}>: template \"nope\" not defined"),
        ("{{ lt 1 \"a\" }}", "{}", "template: t:1:3: executing \"t\" at <lt 1 \"a\">: error calling lt: incompatible types for comparison"),
        ("{{ eq 1 1.0 }}", "{}", "template: t:1:3: executing \"t\" at <eq 1 1.0>: error calling eq: incompatible types for comparison"),
        ("{{ index .l 5 }}", "l: [1]", "template: t:1:3: executing \"t\" at <index .l 5>: error calling index: index out of range: 5"),
        ("{{ upper 3 }}", "{}", "template: t:1:9: executing \"t\" at <3>: expected string; found 3"),
        ("{{ upper \"a\" \"b\" }}", "{}", "template: t:1:3: executing \"t\" at <upper>: wrong number of args for upper: want 1 got 2"),
        ("{{ .s.field }}", "s: str", "template: t:1:5: executing \"t\" at <.s.field>: can't evaluate field field in type string"),
        ("{{ 3 | 4 }}", "{}", "template: t:1: non executable command in pipeline stage 2"),
    ]

    @Test(arguments: errors.indices)
    func documentedErrors(_ i: Int) throws {
        let (tpl, data, expected) = Self.errors[i]
        do {
            let out = try renderTemplate(tpl, data)
            Issue.record("expected an error for \(tpl), got \(out)")
        } catch {
            #expect("\(error)" == expected)
        }
    }

    @Test func typeErrorsPointAtTheArgument() throws {
        do { _ = try renderTemplate("{{ upper .x }}", "x: 5") ; Issue.record("no error") } catch {
            #expect("\(error)" == "template: t:1:9: executing \"t\" at <.x>: wrong type for value; expected string; got float64")
        }
        do { _ = try renderTemplate("{{ .x | upper }}", "x: true") ; Issue.record("no error") } catch {
            #expect("\(error)".hasSuffix("wrong type for value; expected string; got bool"))
        }
    }

    @Test func goBuiltinSliceWhenSprigIsAbsent() throws {
        let set = TemplateSet(functions: [:])
        try set.parse(name: "t", text: "{{ slice \"abcdef\" 1 3 }} {{ slice .l 1 }}")
        #expect(try set.execute(name: "t", data: .dict(["l": .list([.int(1), .int(2), .int(3)])])) == "bc [2 3]")
    }

    @Test func missingKeyErrorOption() throws {
        let set = TemplateSet(functions: FunctionLibrary.standard)
        set.missingKey = .error
        try set.parse(name: "t", text: "{{ .nokey }}")
        #expect(throws: TemplateExecError.self) { try set.execute(name: "t", data: .dict([:])) }
    }

    @Test func laterDefinitionsReplaceEarlierOnes() throws {
        let set = TemplateSet(functions: FunctionLibrary.standard)
        try set.parse(name: "a", text: "{{ define \"x\" }}first{{ end }}")
        try set.parse(name: "b", text: "{{ define \"x\" }}second{{ end }}{{ template \"x\" }}")
        #expect(try set.execute(name: "b", data: .null) == "second")
    }
}
