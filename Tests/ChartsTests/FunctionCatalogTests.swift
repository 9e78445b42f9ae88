@testable import Charts
import Foundation
import Testing

/// Every function Helm 3 gives templates exists, and the functions added to complete the set
/// behave as Sprig and Helm document them.
@Suite struct FunctionCatalogTests {
    /// Sprig v3.3.0's GenericFuncMap (the version Helm 3 ships) without env/expandenv, which Helm removes.
    static let sprig: [String] = [
        "abbrev", "abbrevboth", "add", "add1", "add1f", "addf", "adler32sum", "ago", "all", "any", "append", "atoi",
        "b32dec", "b32enc", "b64dec", "b64enc", "base", "bcrypt", "biggest", "buildCustomCert", "camelcase", "cat",
        "ceil", "chunk", "clean", "coalesce", "compact", "concat", "contains", "date", "dateInZone", "dateModify",
        "date_in_zone", "date_modify", "decryptAES", "deepCopy", "deepEqual", "default", "derivePassword", "dict",
        "dig", "dir", "div", "divf", "duration", "durationRound", "empty", "encryptAES", "ext", "fail", "first",
        "float64", "floor", "fromJson", "genCA", "genCAWithKey", "genPrivateKey", "genSelfSignedCert",
        "genSelfSignedCertWithKey", "genSignedCert", "genSignedCertWithKey", "get", "getHostByName", "has", "hasKey",
        "hasPrefix", "hasSuffix", "hello", "htmlDate", "htmlDateInZone", "htpasswd", "indent", "initial", "initials",
        "int", "int64", "isAbs", "join", "kebabcase", "keys", "kindIs", "kindOf", "last", "list", "lower", "max",
        "maxf", "merge", "mergeOverwrite", "min", "minf", "mod", "mul", "mulf", "mustAppend", "mustChunk",
        "mustCompact", "mustDateModify", "mustDeepCopy", "mustFirst", "mustFromJson", "mustHas", "mustInitial",
        "mustLast", "mustMerge", "mustMergeOverwrite", "mustPrepend", "mustRegexFind", "mustRegexFindAll",
        "mustRegexMatch", "mustRegexReplaceAll", "mustRegexReplaceAllLiteral", "mustRegexSplit", "mustRest",
        "mustReverse", "mustSlice", "mustToDate", "mustToJson", "mustToPrettyJson", "mustToRawJson", "mustUniq",
        "mustWithout", "must_date_modify", "nindent", "nospace", "now", "omit", "osBase", "osClean", "osDir",
        "osExt", "osIsAbs", "pick", "pluck", "plural", "prepend", "quote", "randAlpha", "randAlphaNum", "randAscii",
        "randBytes", "randInt", "randNumeric", "regexFind", "regexFindAll", "regexMatch", "regexQuoteMeta",
        "regexReplaceAll", "regexReplaceAllLiteral", "regexSplit", "repeat", "replace", "rest", "reverse", "round",
        "semver", "semverCompare", "seq", "set", "sha1sum", "sha256sum", "sha512sum", "shuffle", "slice",
        "snakecase", "sortAlpha", "split", "splitList", "splitn", "squote", "sub", "subf", "substr", "swapcase",
        "ternary", "title", "toDate", "toDecimal", "toJson", "toPrettyJson", "toRawJson", "toString", "toStrings",
        "trim", "trimAll", "trimPrefix", "trimSuffix", "trimall", "trunc", "tuple", "typeIs", "typeIsLike", "typeOf",
        "uniq", "unixEpoch", "unset", "until", "untilStep", "untitle", "upper", "urlJoin", "urlParse", "uuidv4",
        "values", "without", "wrap", "wrapWith"
    ]
    /// Helm's additions (pkg/engine/funcs.go).
    static let helm = ["toToml", "fromToml", "toYaml", "toYamlPretty", "fromYaml", "fromYamlArray", "toJson", "fromJson",
        "fromJsonArray", "include", "tpl", "required", "lookup"]

    @Test func everyHelmFunctionIsDefined() {
        let missing = (Self.sprig + Self.helm).filter { FunctionLibrary.standard[$0] == nil && Builtins.table[$0] == nil }
        #expect(missing.isEmpty, "missing: \(missing)")
        #expect(Self.sprig.count == 207)
        // Helm removes the environment functions
        #expect(FunctionLibrary.standard["env"] == nil && FunctionLibrary.standard["expandenv"] == nil)
    }

    static let cases: [(String, String)] = [
        ("{{ hello }}", "Hello!"),
        ("{{ date_in_zone \"2006-01-02 15:04\" 0 \"UTC\" }} {{ date_modify \"1h\" (toDate \"2006-01-02\" \"2024-03-01\") | date \"15:04\" }}", "1970-01-01 00:00 01:00"),
        ("{{ must_date_modify \"-30m\" (toDate \"2006-01-02\" \"2024-03-01\") | date \"2006-01-02 15:04\" }}", "2024-02-29 23:30"),
        ("{{ durationRound \"2h10m5s\" }} {{ durationRound \"400h\" }} {{ durationRound \"1s\" }} {{ durationRound \"61s\" }}", "2h 16d 0s 1m"),
        ("{{ durationRound \"9000h\" }} {{ durationRound \"800h\" }} {{ durationRound \"x\" }} {{ durationRound 3600000000000 }}", "1y 1mo 0s 60m"),
        ("{{ now | durationRound }} {{ dateModify \"-49h\" now | durationRound }}", "0s 2d"),
        // fromToml (Helm: map[string]interface{}; integers int64, floats float64)
        ("{{ $t := fromToml \"a = 1\\nb = 'x'\\n[srv]\\nport = 8080\\nhosts = [\\\"a\\\", \\\"b\\\"]\\n\" }}{{ $t.a }} {{ $t.b }} {{ $t.srv.port }} {{ $t.srv.hosts }} {{ typeOf $t.srv.port }}", "1 x 8080 [a b] int"),
        ("{{ $t := fromToml \"pi = 3.14\\nok = true\\nhex = 0xff\\nbig = 1_000\\nd.e.f = 'dotted'\\ninl = { x = 1, y = \\\"z\\\" }\\n\" }}{{ $t.pi }} {{ $t.ok }} {{ $t.hex }} {{ $t.big }} {{ $t.d.e.f }} {{ $t.inl.y }}", "3.14 true 255 1000 dotted z"),
        ("{{ $t := fromToml \"[[p]]\\nn = 1\\n[[p]]\\nn = 2\\n\" }}{{ range $t.p }}{{ .n }};{{ end }}", "1;2;"),
        ("{{ $t := fromToml \"s = \\\"tab\\\\there\\\\u00e9\\\"\\nm = '''\\nline1\\nline2'''\\n\" }}{{ $t.s }}|{{ $t.m }}", "tab\there\u{e9}|line1\nline2"),
        ("{{ (fromToml \"a = \").Error }}", "toml: line 1: expected a value"),
        ("{{ (fromToml \"a = 1\\na = 2\").Error }}", "toml: line 2: key \"a\" is already defined"),
        ("{{ (fromToml \"a = 1\\nb = 2\\n\" | toToml) }}", "a = 1\nb = 2\n"),
        // mustToJson / mustFromJson
        ("{{ mustToJson (dict \"a\" (list 1 \"x\")) }} {{ (mustFromJson \"{\\\"k\\\": 2}\").k }}", "{\"a\":[1,\"x\"]} 2"),
    ]

    @Test(arguments: cases.indices)
    func documentedBehaviour(_ i: Int) throws {
        let (tpl, expected) = Self.cases[i]
        #expect(try renderTemplate(tpl) == expected, "template: \(tpl)")
    }

    @Test func mustFromJsonFailsOnBadJSON() {
        #expect(templateError("{{ mustFromJson \"{bad\" }}")?.contains("error calling mustFromJson") == true)
    }
}
