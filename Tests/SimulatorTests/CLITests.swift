import Foundation
import Testing
import TestSupport

/// The `outpost-sim` command itself: a second `up` after `down` starts from an empty cluster, `status`
/// tells whether one is running, and bad arguments are refused with a message.
@Suite(.serialized) struct CLITests {
    @Test func upAfterDownStartsCleanAndStatusReports() async throws {
        let binary = try simulatorBinary()
        try await withTemporaryDirectory("outpost-sim-cli") { dir in
            let state = dir + "/state"
            defer { _ = try? ProcessRunner.run(binary, ["down", "--state-dir", state]) }
            let up = try ProcessRunner.run(binary, ["up", "--state-dir", state, "--node-port-range", "32000-32099"], check: true)
            #expect(up.out.trimmingCharacters(in: .whitespacesAndNewlines) == URL(fileURLWithPath: state + "/kubeconfig").standardizedFileURL.path)
            #expect(try ProcessRunner.run(binary, ["status", "--state-dir", state]).status == 0)
            let second = try ProcessRunner.run(binary, ["up", "--state-dir", state])
            #expect(second.status != 0)
            #expect(second.err.contains("already running"))
            let kubectl = ["--kubeconfig", state + "/kubeconfig"]
            try ProcessRunner.run("kubectl", kubectl + ["apply", "-f", "-"],
                                  stdin: Data("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leftover}\n".utf8), check: true)
            try ProcessRunner.run(binary, ["down", "--state-dir", state], check: true)
            #expect(!FileManager.default.fileExists(atPath: state))
            #expect(try ProcessRunner.run(binary, ["status", "--state-dir", state]).status != 0)
            try ProcessRunner.run(binary, ["up", "--state-dir", state], check: true)
            let get = try ProcessRunner.run("kubectl", kubectl + ["get", "configmap", "leftover"])
            #expect(get.status != 0)
            #expect(get.err.contains("not found"))
        }
    }

    @Test func refusesBadArguments() throws {
        let binary = try simulatorBinary()
        let r = try ProcessRunner.run(binary, ["up", "--state-dir", "/tmp/outpost-sim-never", "--node-port-range", "9-3"])
        #expect(r.status != 0)
        #expect(r.err.contains("--node-port-range"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/outpost-sim-never/kubeconfig"))
    }
}
