import Foundation
import Testing
import TestSupport

/// Checks that TestSupport really starts and stops Debian's docker-registry (the service most tests use).
@Suite struct TestSupportSmokeTests {
    @Test func registryStartsAnswersAndStops() async throws {
        let port = try await withDockerRegistry { registry in
            let r = try ProcessRunner.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://\(registry.host)/v2/"])
            #expect(r.out == "200")
            return registry.port
        }
        let after = try ProcessRunner.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/v2/"])
        #expect(after.out == "000")
    }

    @Test func authenticatedRegistryRefusesAnonymous() async throws {
        try await withDockerRegistry(auth: true) { registry in
            let anon = try ProcessRunner.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://\(registry.host)/v2/"])
            #expect(anon.out == "401")
            let c = try #require(registry.credentials)
            let ok = try ProcessRunner.run("curl", ["-s", "-u", "\(c.user):\(c.password)", "-o", "/dev/null", "-w", "%{http_code}", "http://\(registry.host)/v2/"])
            #expect(ok.out == "200")
        }
    }
}
