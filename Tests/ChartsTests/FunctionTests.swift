@testable import Charts
import Foundation
import Testing

/// Sprig and Helm functions, each row an example from the Sprig / Helm documentation.
@Suite struct FunctionTests {
    static let cases: [(String, String)] = [
        // strings
        ("{{ trim \"   hello    \" }}", "hello"),
        ("{{ trimAll \"$\" \"$5.00\" }}", "5.00"),
        ("{{ trimSuffix \"-\" \"hello-\" }}", "hello"),
        ("{{ trimPrefix \"-\" \"-hello\" }}", "hello"),
        ("{{ upper \"hello\" }} {{ lower \"HELLO\" }} {{ title \"hello world\" }} {{ untitle \"Hello World\" }}", "HELLO hello Hello World hello world"),
        ("{{ repeat 3 \"hello\" }}", "hellohellohello"),
        ("{{ substr 0 5 \"hello world\" }}", "hello"),
        ("{{ nospace \"hello w o r l d\" }}", "helloworld"),
        ("{{ trunc 5 \"hello world\" }} {{ trunc -5 \"hello world\" }}", "hello world"),
        ("{{ abbrev 5 \"hello world\" }}", "he..."),
        ("{{ initials \"First Try\" }}", "FT"),
        ("{{ contains \"cat\" \"catch\" }} {{ hasPrefix \"cat\" \"catch\" }} {{ hasSuffix \"ch\" \"catch\" }}", "true true true"),
        ("{{ quote \"a\" 1 }} {{ squote \"b\" }}", "\"a\" \"1\" 'b'"),
        ("{{ cat \"hello\" \"beautiful\" \"world\" }}", "hello beautiful world"),
        ("{{ indent 4 \"a\\nb\" }}", "    a\n    b"),
        ("{{ nindent 2 \"a\" }}", "\n  a"),
        ("{{ replace \" \" \"-\" \"I Am Henry VIII\" }}", "I-Am-Henry-VIII"),
        ("{{ plural \"one anchovy\" \"many anchovies\" 2 }}", "many anchovies"),
        ("{{ snakecase \"FirstName\" }} {{ camelcase \"http_server\" }} {{ kebabcase \"FirstName\" }}", "first_name HttpServer first-name"),
        ("{{ swapcase \"This Is A.Test\" }}", "tHIS iS a.tEST"),
        ("{{ wrap 5 \"Hello World\" }}", "Hello\nWorld"),
        ("{{ (split \"$\" \"foo$bar$baz\")._1 }}", "bar"),
        ("{{ splitList \"$\" \"foo$bar$baz\" }}", "[foo bar baz]"),
        ("{{ (splitn \"$\" 2 \"foo$bar$baz\")._1 }}", "bar$baz"),
        ("{{ join \"-\" (list \"a\" \"b\" \"c\") }}", "a-b-c"),
        ("{{ sortAlpha (list \"c\" \"a\" \"b\") }}", "[a b c]"),
        ("{{ regexMatch \"^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\\\.[a-zA-Z]{2,}$\" \"test@acme.com\" }}", "true"),
        ("{{ regexFindAll \"[2,4,6,8]\" \"123456789\" -1 }}", "[2 4 6 8]"),
        ("{{ regexFind \"[a-zA-Z][1-9]\" \"abcd1234\" }}", "d1"),
        ("{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\" }}", "-W-xxW-"),
        ("{{ regexReplaceAllLiteral \"a(x*)b\" \"-ab-axxb-\" \"${1}\" }}", "-${1}-${1}-"),
        ("{{ regexSplit \"z+\" \"pizza\" -1 }}", "[pi a]"),
        ("{{ regexQuoteMeta \"1.2.3\" }}", "1\\.2\\.3"),
        ("{{ toString 5 }} {{ atoi \"42\" }} {{ int \"7\" }} {{ int64 3.9 }} {{ float64 \"1.5\" }}", "5 42 7 3 1.5"),
        ("{{ toStrings (list 1 2 3) }}", "[1 2 3]"),
        // math
        ("{{ add 1 2 3 }} {{ add1 5 }} {{ sub 3 2 }} {{ div 7 2 }} {{ mod 7 3 }} {{ mul 2 3 4 }}", "6 6 1 3 1 24"),
        ("{{ max 1 5 3 }} {{ min 4 2 9 }} {{ floor 1.9 }} {{ ceil 1.1 }} {{ round 3.14159 2 }}", "5 2 1 2 3.14"),
        ("{{ addf 1.5 2 }} {{ subf 5 1.5 }} {{ mulf 1.5 2 }} {{ divf 10 4 }} {{ maxf 1 2.5 }}", "3.5 3.5 3 2.5 2.5"),
        ("{{ until 3 }} {{ untilStep 0 10 4 }} {{ seq 3 }} {{ seq 2 -2 }}", "[0 1 2] [0 4 8] 1 2 3 2 1 0 -1 -2"),
        // defaults and flow
        ("{{ default \"foo\" .missing }} {{ default \"foo\" \"bar\" }} {{ default 3 0 }}", "foo bar 3"),
        ("{{ empty \"\" }} {{ empty 0 }} {{ empty (list) }} {{ empty \"x\" }}", "true true true false"),
        ("{{ coalesce 0 \"\" \"x\" }} {{ all 1 \"a\" }} {{ any 0 \"\" 1 }}", "x true true"),
        ("{{ ternary \"yes\" \"no\" true }} {{ true | ternary \"a\" \"b\" }}", "yes a"),
        ("{{ typeOf 1 }} {{ typeOf 1.5 }} {{ typeOf \"s\" }} {{ typeOf (list) }} {{ typeOf (dict) }} {{ kindOf (list) }} {{ kindIs \"map\" (dict) }}", "int float64 string []interface {} map[string]interface {} slice true"),
        ("{{ deepEqual (list 1 2) (list 1 2) }} {{ typeIs \"int\" 3 }}", "true true"),
        // lists
        ("{{ list 1 2 3 }} {{ first (list 1 2 3) }} {{ last (list 1 2 3) }} {{ rest (list 1 2 3) }} {{ initial (list 1 2 3) }}", "[1 2 3] 1 3 [2 3] [1 2]"),
        ("{{ append (list 1 2) 3 }} {{ prepend (list 1 2) 0 }} {{ concat (list 1) (list 2 3) }} {{ reverse (list 1 2 3) }}", "[1 2 3] [0 1 2] [1 2 3] [3 2 1]"),
        ("{{ uniq (list 1 1 2 1) }} {{ without (list 1 2 3) 2 }} {{ has 4 (list 1 2 3) }} {{ compact (list 1 \"\" 2) }}", "[1 2] [1 3] false [1 2]"),
        ("{{ slice (list 1 2 3 4) 1 3 }} {{ chunk 2 (list 1 2 3) }}", "[2 3] [[1 2] [3]]"),
        // dicts
        ("{{ $d := dict \"a\" 1 \"b\" 2 }}{{ get $d \"a\" }} {{ hasKey $d \"b\" }} {{ keys $d }} {{ values $d }}", "1 true [a b] [1 2]"),
        ("{{ $d := dict \"a\" 1 }}{{ $_ := set $d \"b\" 2 }}{{ $d }} {{ unset $d \"a\" }}", "map[a:1 b:2] map[b:2]"),
        ("{{ pick (dict \"a\" 1 \"b\" 2) \"a\" }} {{ omit (dict \"a\" 1 \"b\" 2) \"a\" }}", "map[a:1] map[b:2]"),
        ("{{ pluck \"a\" (dict \"a\" 1) (dict \"a\" 2) (dict \"b\" 3) }}", "[1 2]"),
        ("{{ merge (dict \"a\" 1 \"n\" (dict \"x\" 1)) (dict \"a\" 2 \"b\" 3 \"n\" (dict \"y\" 2)) }}", "map[a:1 b:3 n:map[x:1 y:2]]"),
        ("{{ mergeOverwrite (dict \"a\" 1) (dict \"a\" 2 \"b\" 3) }}", "map[a:2 b:3]"),
        ("{{ dig \"a\" \"b\" \"def\" (dict \"a\" (dict \"b\" \"found\")) }} {{ dig \"x\" \"def\" (dict) }}", "found def"),
        ("{{ $c := deepCopy (dict \"a\" 1) }}{{ $c.a }}", "1"),
        // encoding and hashing
        ("{{ b64enc \"hello\" }} {{ b64dec \"aGVsbG8=\" }} {{ b32enc \"hi\" }} {{ b32dec \"NBUQ====\" }}", "aGVsbG8= hello NBUQ==== hi"),
        ("{{ sha256sum \"Hello world!\" }}", "c0535e4be2b79ffd93291305436bf889314e4a3faec05ecffcbb7df31ad9e51a"),
        ("{{ sha1sum \"abc\" }} {{ adler32sum \"Wikipedia\" }}", "a9993e364706816aba3e25717850c26c9cd0d89d 300286872"),
        ("{{ base \"foo/bar/baz.txt\" }} {{ dir \"foo/bar/baz\" }} {{ clean \"foo/../bar\" }} {{ ext \"a.yaml\" }} {{ isAbs \"/x\" }}", "baz.txt foo/bar bar .yaml true"),
        ("{{ semverCompare \">=1.19-0\" \"v1.20.0\" }} {{ semverCompare \"~1.2.3\" \"1.3.0\" }} {{ semverCompare \"^1.2\" \"1.9.9\" }} {{ (semver \"1.2.3-beta\").Prerelease }}", "true false true beta"),
        ("{{ semverCompare \">= 1.20, < 1.22\" \"1.21.4\" }} {{ semverCompare \"1.2.x || 2.x\" \"2.5.0\" }}", "true true"),
        ("{{ urlquery \"a b\" }} {{ (urlParse \"https://u@host:8080/p?q=1#f\").host }} {{ urlJoin (dict \"scheme\" \"http\" \"host\" \"h\" \"path\" \"/x\") }}", "a+b host:8080 http://h/x"),
        // Helm's functions
        ("{{ toYaml (dict \"b\" (list 1 \"two\") \"a\" \"x: y\" \"c\" \"true\") }}", "a: 'x: y'\nb:\n- 1\n- two\nc: \"true\""),
        ("{{ toYaml .v }}", "a: 1000000\nb: 1.5\nc: null\nd: \"\"\ne: |-\n  multi\n  line"),
        ("{{ toJson (dict \"b\" 2 \"a\" \"<x>\" \"l\" (list 1.5 true)) }}", "{\"a\":\"\\u003cx\\u003e\",\"b\":2,\"l\":[1.5,true]}"),
        ("{{ toRawJson (dict \"a\" \"<x>\") }} {{ toPrettyJson (dict \"a\" 1) }}", "{\"a\":\"<x>\"} {\n  \"a\": 1\n}"),
        ("{{ (fromYaml \"a: 1\\nb: [x]\").b }} {{ (fromJson \"{\\\"k\\\": [1, 2]}\").k }} {{ fromYamlArray \"- 1\\n- b\" }} {{ fromJsonArray \"[1,\\\"a\\\"]\" }}", "[x] [1 2] [1 b] [1 a]"),
        ("{{ (fromYaml \"- not a map\").Error }}", "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}"),
        ("{{ toToml (dict \"a\" 1 \"t\" (dict \"b\" \"x\")) }}", "a = 1\n\n[t]\nb = \"x\"\n"),
        ("{{ define \"inc\" }}[{{ . }}]{{ end }}{{ include \"inc\" \"v\" | upper }}", "[V]"),
        ("{{ tpl \"{{ .name }}-{{ .missing }}\" (dict \"name\" \"n\") }}", "n-"),
        ("{{ required \"need it\" \"present\" }}", "present"),
        ("{{ lookup \"v1\" \"Secret\" \"ns\" \"name\" }} {{ len (lookup \"v1\" \"Pod\" \"\" \"\") }}", "map[] 0"),
        ("{{ getHostByName \"example.com\" }}|", "|"),
    ]

    @Test(arguments: cases.indices)
    func documentedExample(_ i: Int) throws {
        let (tpl, expected) = Self.cases[i]
        let data = "v: {a: 1000000, b: 1.5, c: null, d: \"\", e: \"multi\\nline\"}"
        #expect(try renderTemplate(tpl, data) == expected, "template: \(tpl)")
    }

    @Test func deterministicRandomness() throws {
        let a = try renderTemplate("{{ randAlphaNum 12 }} {{ uuidv4 }} {{ now | date \"2006-01-02\" }}")
        let b = try renderTemplate("{{ randAlphaNum 12 }} {{ uuidv4 }} {{ now | date \"2006-01-02\" }}")
        #expect(a == b)
        let parts = a.split(separator: " ")
        #expect(parts[0].count == 12)
        #expect(parts[1].count == 36 && parts[1].split(separator: "-")[2].hasPrefix("4"))
        #expect(parts[2] == "2023-11-14")
    }

    @Test func requiredAndFailCarryHelmMarkers() throws {
        #expect(throws: TemplateExecError.self) { try renderTemplate("{{ required \"need .x\" .x }}") }
        do { _ = try renderTemplate("{{ fail \"boom\" }}") } catch {
            #expect("\(error)".contains("HELM_ERR_STARTboomHELM_ERR_END"))
        }
    }
}
