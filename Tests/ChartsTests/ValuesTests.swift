@testable import Charts
import Foundation
import Testing

/// --set syntax and Helm's coalescing rules.
@Suite struct ValuesTests {
    func set(_ exprs: [String], string: Bool = false) throws -> String {
        let o = string ? Values.Options(stringValues: exprs) : Values.Options(values: exprs)
        return JSONCodec.encode(.dict(try o.merged()))
    }

    @Test func setSyntax() throws {
        #expect(try set(["a=b,c=d"]) == #"{"a":"b","c":"d"}"#)
        #expect(try set(["outer.inner=1"]) == #"{"outer":{"inner":1}}"#)
        #expect(try set(["name={a,b,c}"]) == #"{"name":["a","b","c"]}"#)
        #expect(try set(["list[0]=x,list[2]=z"]) == #"{"list":["x",null,"z"]}"#)
        #expect(try set(["l[0].name=n"]) == #"{"l":[{"name":"n"}]}"#)
        #expect(try set(["b=true,f=false,n=null,z=0,i=123,lead=0123,fl=1.5"]) == #"{"b":true,"f":false,"fl":"1.5","i":123,"lead":"0123","n":null,"z":0}"#)
        #expect(try set(["esc=a\\,b", "dot\\.key=v"]) == #"{"dot.key":"v","esc":"a,b"}"#)
        #expect(try set(["i=123,b=true"], string: true) == #"{"b":"true","i":"123"}"#)
        #expect(try set(["a=1", "a=2"]) == #"{"a":2}"#)
        #expect(try set(["empty="]) == #"{"empty":""}"#)
    }

    @Test func setErrors() {
        #expect(throws: ChartError.self) { try set(["novalue"]) }
        do { _ = try set(["a"]) } catch { #expect("\(error)" == "failed parsing --set data: key \"a\" has no value") }
        do { _ = try set(["a,b=c"]) } catch { #expect("\(error)" == "failed parsing --set data: key \"a\" has no value (cannot end with ,)") }
        do { _ = try set(["l[-1]=x"]) } catch { #expect("\(error)" == "failed parsing --set data: negative -1 index not allowed") }
    }

    @Test func setFileReadsContents() throws {
        try withScratch { dir in
            try Data("file body\n".utf8).write(to: URL(fileURLWithPath: dir + "/f.txt"))
            let v = try Values.Options(fileValues: ["cfg=\(dir)/f.txt"]).merged()
            #expect(v["cfg"]?.stringValue == "file body\n")
            #expect(throws: ChartError.self) { try Values.Options(fileValues: ["cfg=\(dir)/missing"]).merged() }
        }
    }

    @Test func valuesFilesMergeInOrder() throws {
        try withScratch { dir in
            try writeChart(dir, ["a.yaml": "x: {a: 1, b: 2}\nl: [1]\n", "b.yaml": "x: {b: 3}\nl: [2]\n"])
            let v = try Values.Options(valueFiles: [dir + "/a.yaml", dir + "/b.yaml"], values: ["x.c=4"]).merged()
            #expect(JSONCodec.encode(.dict(v)) == #"{"l":[2],"x":{"a":1,"b":3,"c":4}}"#)
            try writeChart(dir, ["bad.yaml": "a: [\n"])
            do { _ = try Values.Options(valueFiles: [dir + "/bad.yaml"]).merged(); Issue.record("no error") } catch {
                #expect("\(error)".hasPrefix("failed to parse \(dir)/bad.yaml: cannot unmarshal yaml document: error converting YAML to JSON: yaml: line"))
            }
        }
    }

    @Test func coalescingDefaultsSubchartsGlobalsAndNull() throws {
        try withScratch { dir in
            try writeChart(dir, [
                "Chart.yaml": "apiVersion: v2\nname: parent\nversion: 1.0.0\n",
                "values.yaml": "keep: 1\ndrop: 2\nnested: {a: 1, b: 2}\nglobal: {region: eu}\nchild: {fromParent: p}\n",
                "templates/cm.yaml": "keep={{ .Values.keep }} drop={{ .Values.drop }} nested={{ .Values.nested }}",
                "charts/child/Chart.yaml": "apiVersion: v2\nname: child\nversion: 0.1.0\n",
                "charts/child/values.yaml": "own: o\nfromParent: default\n",
                "charts/child/templates/c.yaml": "own={{ .Values.own }} fromParent={{ .Values.fromParent }} region={{ .Values.global.region }}",
            ])
            let out = try templateText(dir, values: Values.Options(values: ["drop=null", "nested.b=null", "global.region=us"]))
            #expect(out.contains("keep=1 drop= nested=map[a:1]"))
            #expect(out.contains("own=o fromParent=p region=us"))
        }
    }

    @Test func dependencyConditionsTagsAliasesAndImports() throws {
        try withScratch { dir in
            try writeChart(dir, [
                "Chart.yaml": """
                apiVersion: v2
                name: parent
                version: 1.0.0
                dependencies:
                  - name: lib
                    version: 0.1.0
                    alias: first
                    import-values:
                      - child: exported
                        parent: imported
                  - name: lib
                    version: 0.1.0
                    alias: second
                    condition: second.enabled
                  - name: lib
                    version: ">=0.1.0"
                    alias: third
                    tags: [optional]
                """,
                "values.yaml": "second: {enabled: false}\ntags: {optional: false}\n",
                "templates/p.yaml": "imported={{ .Values.imported.value }}",
                "charts/lib/Chart.yaml": "apiVersion: v2\nname: lib\nversion: 0.1.0\n",
                "charts/lib/values.yaml": "exported: {value: from-child}\n",
                "charts/lib/templates/l.yaml": "chart={{ .Chart.Name }}",
            ])
            let out = try templateText(dir)
            #expect(out.contains("# Source: parent/charts/first/templates/l.yaml\nchart=first"))
            #expect(!out.contains("second"))
            #expect(!out.contains("third"))
            #expect(out.contains("imported=from-child"))
            let withTag = try templateText(dir, values: Values.Options(values: ["tags.optional=true", "second.enabled=true"]))
            #expect(withTag.contains("parent/charts/second/templates/l.yaml"))
            #expect(withTag.contains("parent/charts/third/templates/l.yaml"))
        }
    }

    @Test func libraryChartsProvideOnlyPartials() throws {
        try withScratch { dir in
            try writeChart(dir, [
                "Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: common\n    version: 1.x.x\n",
                "templates/a.yaml": "{{ include \"common.hello\" . }}",
                "charts/common/Chart.yaml": "apiVersion: v2\nname: common\nversion: 1.2.0\ntype: library\n",
                "charts/common/templates/_h.tpl": "{{ define \"common.hello\" }}hello from {{ .Chart.Name }}{{ end }}",
                "charts/common/templates/ignored.yaml": "kind: ShouldNotRender",
            ])
            let out = try templateText(dir)
            #expect(out == "---\n# Source: app/templates/a.yaml\nhello from app\n")
        }
    }

    @Test func helmignoreAndFilesAccess() throws {
        try withScratch { dir in
            try writeChart(dir, [
                "Chart.yaml": "apiVersion: v2\nname: f\nversion: 1.0.0\n",
                ".helmignore": "secret.txt\n*.bak\n",
                "secret.txt": "hidden", "old.bak": "x",
                "config/a.conf": "A=1\n", "config/b.conf": "B=2\n",
                "templates/cm.yaml": """
                data:
                {{ (.Files.Glob "config/*").AsConfig | indent 2 }}
                lines: {{ .Files.Lines "config/a.conf" }}
                get: {{ .Files.Get "config/b.conf" | trim }}
                secret: [{{ .Files.Get "secret.txt" }}]
                {{- range $path, $_ := .Files.Glob "**.conf" }}
                path: {{ $path }}
                {{- end }}
                """,
            ])
            let out = try templateText(dir)
            #expect(out.contains("data:\n  a.conf: |\n    A=1\n  b.conf: |\n    B=2\n"))
            #expect(out.contains("lines: [A=1]"))
            #expect(out.contains("get: B=2"))
            #expect(out.contains("secret: []"))
            #expect(out.contains("path: config/a.conf\npath: config/b.conf"))
        }
    }
}
