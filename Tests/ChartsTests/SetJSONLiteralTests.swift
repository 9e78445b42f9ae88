@testable import Charts
import Foundation
import Testing
import TestSupport

/// `--set-json` and `--set-literal` (Helm 3.13+): syntax, typing, errors and the merge order
/// files < --set-json < --set < --set-string < --set-file < --set-literal.
@Suite struct SetJSONLiteralTests {
    func merged(_ o: Values.Options) throws -> String { JSONCodec.encode(.dict(try o.merged())) }

    @Test func setJSONValues() throws {
        #expect(try merged(.init(jsonValues: [#"a={"b":[1,2],"c":"x"}"#])) == #"{"a":{"b":[1,2],"c":"x"}}"#)
        #expect(try merged(.init(jsonValues: [#"x=1 ,y="s,t",z=null,w=,v=true"#])) == #"{"v":true,"w":null,"x":1,"y":"s,t","z":null}"#)
        #expect(try merged(.init(jsonValues: [#"l[1]={"k":[true]}"#])) == #"{"l":[null,{"k":[true]}]}"#)
        #expect(try merged(.init(jsonValues: [#"outer.inner=[{"a":1}]"#, #"outer.other="o""#])) == #"{"outer":{"inner":[{"a":1}],"other":"o"}}"#)
        // JSON numbers are float64, as Helm decodes them
        let v = try Values.Options(jsonValues: ["n=3"]).merged()
        if case .float(3)? = v["n"] {} else { Issue.record("n is \(String(describing: v["n"]))") }
    }

    @Test func setJSONErrorsNameTheValue() {
        for bad in [#"a.b=[1"#, #"a={"x":}"#, "a"] {
            do {
                _ = try Values.Options(jsonValues: [bad]).merged()
                Issue.record("\(bad) was accepted")
            } catch {
                #expect("\(error)" == "failed parsing --set-json data \(bad)")
            }
        }
    }

    @Test func setLiteralTakesTheRestVerbatim() throws {
        #expect(try merged(.init(literalValues: [#"a.b=x,y={z}\n"#])) == #"{"a":{"b":"x,y={z}\\n"}}"#)
        #expect(try merged(.init(literalValues: ["k=true", "n=12", "e="])) == #"{"e":"","k":"true","n":"12"}"#)
        #expect(try merged(.init(literalValues: ["list[1]=a=b"])) == #"{"list":[null,"a=b"]}"#)
        do { _ = try Values.Options(literalValues: ["novalue"]).merged() } catch {
            #expect("\(error)" == "failed parsing --set-literal data: key \"novalue\" has no value")
        }
    }

    @Test func mergeOrder() throws {
        let dir = try makeTemporaryDirectory("charts-setjson")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("a: file\nb: file\nc: file\nd: file\n".utf8).write(to: URL(fileURLWithPath: dir + "/v.yaml"))
        let o = Values.Options(valueFiles: [dir + "/v.yaml"], values: ["b=set,c=set,d=set"], stringValues: ["c=string"],
            jsonValues: [#"a="json",b="json",c="json",d="json""#], literalValues: ["d=literal"])
        #expect(try merged(o) == #"{"a":"json","b":"set","c":"string","d":"literal"}"#)
    }

    @Test func cliAcceptsSetJSONAndSetLiteral() throws {
        let bin = ArchiveAndCLITests.outpostBinary()
        guard FileManager.default.isExecutableFile(atPath: bin) else {
            Issue.record("outpost binary not built at \(bin); run swift build first")
            return
        }
        try withScratch { dir in
            try writeChart(dir, ["Chart.yaml": "apiVersion: v2\nname: sj\nversion: 0.1.0\n",
                "templates/cm.yaml": "kind: ConfigMap\ndata:\n  ports: {{ .Values.ports | toJson | quote }}\n  raw: {{ .Values.raw | quote }}\n"])
            let r = try ProcessRunner.run(bin, ["chart", "template", dir, "--set-json", "ports=[80,443]", "--set-literal", "raw=a,b\\c"])
            #expect(r.status == 0, "\(r.err)")
            #expect(r.out.contains("ports: \"[80,443]\"\n  raw: \"a,b\\\\c\"\n"), "\(r.out)")
            let bad = try ProcessRunner.run(bin, ["chart", "template", dir, "--set-json", "ports=[80"])
            #expect(bad.status != 0 && bad.err.contains("failed parsing --set-json data ports=[80"))
            #expect(bad.out.isEmpty)
        }
    }
}
