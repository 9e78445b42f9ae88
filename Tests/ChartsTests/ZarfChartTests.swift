import Charts
import Foundation
import OutpostCore
import Testing
import TestSupport

/// The Zarf example charts render, and every object passes `kubernetes-validate --strict`.
@Suite struct ZarfChartTests {
    static let zarf = sharedDirectory() + "/examples/zarf"

    static let charts: [(chart: String, valueFiles: [String], sets: [String])] = [
        ("helm-charts/chart", ["helm-charts/values.yaml"], ["replicaCount=2"]),
        ("values-templating/charts/example-chart", [], ["appName=site-app", "config.database.host=db.local"]),
    ]

    @Test(arguments: charts.indices)
    func rendersAndValidates(_ i: Int) throws {
        let c = Self.charts[i]
        var options = RenderOptions()
        options.kubeVersion = "1.36.0"
        options.namespace = "zarf-test"
        options.releaseName = "zarf-example"
        let values = Values.Options(valueFiles: c.valueFiles.map { Self.zarf + "/" + $0 }, values: c.sets)
        let objects = try ChartRenderer.objects(chartPath: Self.zarf + "/" + c.chart, values: values, options: options)
        #expect(!objects.isEmpty)
        let release = try ChartRenderer.render(chartPath: Self.zarf + "/" + c.chart, values: values, options: options)
        let text = try ChartRenderer.templateOutput(release, options: options)
        try withScratch { dir in
            var files: [String] = []
            for (k, obj) in objects.enumerated() {
                #expect(obj["kind"]?.stringValue != nil)
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys]
                let path = "\(dir)/object-\(k).json"
                try enc.encode(obj).write(to: URL(fileURLWithPath: path))
                files.append(path)
            }
            let r = try ProcessRunner.run("kubernetes-validate", ["--strict", "-k", "1.36.0", "--quiet"] + files)
            #expect(r.status == 0, "kubernetes-validate: \(r.out)\(r.err)\n\(text)")
        }
    }

    @Test func podinfoUsesTheValues() throws {
        var options = RenderOptions()
        options.kubeVersion = "1.36.0"
        let values = Values.Options(valueFiles: [Self.zarf + "/helm-charts/values.yaml"], values: ["replicaCount=3"])
        let objects = try ChartRenderer.objects(chartPath: Self.zarf + "/helm-charts/chart", values: values, options: options)
        let deployment = objects.first { $0["kind"]?.stringValue == "Deployment" }
        #expect(deployment?["spec"]?["replicas"]?.intValue == 3)
    }
}
