import Charts
import Foundation
import Testing
import TestSupport

/// Bad charts fail with Helm's messages (and the CLI exits non-zero).
@Suite struct BadChartTests {
    static let chartYaml = "apiVersion: v2\nname: bad\nversion: 0.1.0\n"

    @Test func missingChartYaml() throws {
        try withScratch { dir in
            try writeChart(dir, ["values.yaml": "a: 1\n"])
            #expect(renderError(dir) == "Chart.yaml file is missing")
        }
    }

    @Test func missingPath() {
        #expect(renderError("/nonexistent/chart") == "path \"/nonexistent/chart\" not found")
    }

    @Test func badChartYaml() throws {
        try withScratch { dir in
            try writeChart(dir, ["Chart.yaml": "apiVersion: v2\nname: [unclosed\n"])
            let err = renderError(dir) ?? ""
            #expect(err.hasPrefix("cannot load Chart.yaml: error converting YAML to JSON: yaml: line "), "\(err)")
        }
    }

    @Test func chartMetadataValidation() throws {
        try withScratch { dir in
            try writeChart(dir, ["Chart.yaml": "apiVersion: v2\nversion: 1.0.0\n"])
            #expect(renderError(dir) == "validation: chart.metadata.name is required")
            try writeChart(dir, ["Chart.yaml": "apiVersion: v2\nname: x\nversion: notsemver\n"])
            #expect(renderError(dir) == "validation: chart.metadata.version \"notsemver\" is invalid")
            try writeChart(dir, ["Chart.yaml": "apiVersion: v2\nname: x\nversion: 1.0.0\ntype: weird\n"])
            #expect(renderError(dir) == "validation: chart.metadata.type must be application or library")
        }
    }

    @Test func badValuesYaml() throws {
        try withScratch { dir in
            try writeChart(dir, ["Chart.yaml": Self.chartYaml, "values.yaml": "a: b: c\n"])
            let err = renderError(dir) ?? ""
            #expect(err.hasPrefix("cannot load values.yaml: cannot unmarshal yaml document: error converting YAML to JSON: yaml: mapping values are not allowed in this context"), "\(err)")
        }
    }

    @Test func templateParseError() throws {
        try withScratch { dir in
            try writeChart(dir, ["Chart.yaml": Self.chartYaml, "templates/a.yaml": "ok: 1\nbad: {{ .Values.x \n"])
            #expect(renderError(dir) == "parse error at (bad/templates/a.yaml:3): unclosed action")
            try writeChart(dir, ["templates/a.yaml": "{{ nosuchfunc }}"])
            #expect(renderError(dir) == "parse error at (bad/templates/a.yaml:1): function \"nosuchfunc\" not defined")
        }
    }

    @Test func templateExecutionErrors() throws {
        try withScratch { dir in
            try writeChart(dir, ["Chart.yaml": Self.chartYaml, "templates/a.yaml": "a: 1\nb: {{ .Values.missing.field }}\n"])
            #expect(renderError(dir) == "bad/templates/a.yaml:2:13\n  executing \"bad/templates/a.yaml\" at <.Values.missing.field>:\n    nil pointer evaluating interface {}.field")
            try writeChart(dir, [
                "templates/a.yaml": "x: {{ include \"h\" . }}",
                "templates/_h.tpl": "{{ define \"h\" }}{{ .Values.a.b }}{{ end }}",
            ])
            #expect(renderError(dir) == "bad/templates/a.yaml:1:6\n  executing \"bad/templates/a.yaml\" at <include \"h\" .>:\n    error calling include:\nbad/templates/_h.tpl:1:26\n  executing \"h\" at <.Values.a.b>:\n    nil pointer evaluating interface {}.b")
        }
    }

    @Test func failingRequiredAndFail() throws {
        try withScratch { dir in
            try writeChart(dir, ["Chart.yaml": Self.chartYaml, "templates/a.yaml": "image: {{ required \"image.repository is required\" .Values.image }}\n"])
            #expect(renderError(dir) == "execution error at (bad/templates/a.yaml:1:10): image.repository is required")
            try writeChart(dir, ["templates/a.yaml": "{{ fail \"unsupported setting\" }}"])
            #expect(renderError(dir) == "execution error at (bad/templates/a.yaml:1:3): unsupported setting")
        }
    }

    @Test func schemaViolation() throws {
        try withScratch { dir in
            try writeChart(dir, [
                "Chart.yaml": Self.chartYaml,
                "values.yaml": "age: -5\n",
                "values.schema.json": #"{"type": "object", "required": ["employmentInfo"], "properties": {"age": {"type": "integer", "minimum": 0}, "name": {"type": "string"}}}"#,
                "templates/a.yaml": "a: 1\n",
            ])
            #expect(renderError(dir) == "values don't meet the specifications of the schema(s) in the following chart(s):\nbad:\n- at '': missing property 'employmentInfo'\n- at '/age': minimum: got -5, want 0\n")
            let typeErr = renderError(dir, values: Values.Options(values: ["age=1", "employmentInfo=x", "name=5"]))
            #expect(typeErr == "values don't meet the specifications of the schema(s) in the following chart(s):\nbad:\n- at '/name': got integer, want string\n")
            #expect(renderError(dir, values: Values.Options(values: ["age=1", "employmentInfo=x"])) == nil)
        }
    }

    @Test func renderedYamlMustParse() throws {
        try withScratch { dir in
            try writeChart(dir, ["Chart.yaml": Self.chartYaml, "templates/a.yaml": "a: b: c\n"])
            let err = renderError(dir) ?? ""
            #expect(err == "YAML parse error on bad/templates/a.yaml: error converting YAML to JSON: yaml: mapping values are not allowed in this context", "\(err)")
        }
    }

    @Test func missingDependency() throws {
        try withScratch { dir in
            try writeChart(dir, ["Chart.yaml": Self.chartYaml + "dependencies:\n  - name: gone\n    version: 1.0.0\n", "templates/a.yaml": "a: 1\n"])
            #expect(renderError(dir) == "an error occurred while checking for chart dependencies. You may need to run 'helm dependency build' to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: gone")
        }
    }

    @Test func showOnlyUnknownTemplate() throws {
        try withScratch { dir in
            try writeChart(dir, ["Chart.yaml": Self.chartYaml, "templates/a.yaml": "a: 1\n"])
            var o = RenderOptions()
            o.showOnly = ["templates/b.yaml"]
            #expect(renderError(dir, options: o) == "could not find template templates/b.yaml in chart")
        }
    }
}
