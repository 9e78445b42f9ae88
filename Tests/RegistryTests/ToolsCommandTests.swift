import Foundation
import Testing
import TestSupport

/// `outpost tools image-transform` / `git-transform`, run as the built binary with Zarf's documented examples.
@Suite struct ToolsCommandTests {
    private var outpost: String { repositoryRoot() + "/.build/debug/outpost" }

    @Test func imageTransformPrintsZarfNames() throws {
        let cases = [
            ("nginx", "127.0.0.1:31999/library/nginx:latest-zarf-3793515731"),
            ("ghcr.io/stefanprodan/podinfo:6.3.3", "127.0.0.1:31999/stefanprodan/podinfo:6.3.3-zarf-2985051089"),
            ("busybox:latest@sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79",
             "127.0.0.1:31999/library/busybox@sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79"),
        ]
        for (input, expected) in cases {
            let r = try ProcessRunner.run(outpost, ["tools", "image-transform", input, "--registry", "127.0.0.1:31999"])
            #expect(r.status == 0, "\(r.err)")
            #expect(r.out == expected + "\n")
        }
        let plain = try ProcessRunner.run(outpost, ["tools", "image-transform", "nginx:1.27", "--registry", "10.0.0.5:5000", "--no-checksum"])
        #expect(plain.out == "10.0.0.5:5000/library/nginx:1.27\n")
    }

    @Test func gitTransformPrintsMirrorURL() throws {
        let r = try ProcessRunner.run(outpost, ["tools", "git-transform", "https://github.com/zarf-dev/zarf.git",
                                                "--server", "http://git.local:3000", "--user", "zarf-git-user"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out == "http://git.local:3000/zarf-git-user/zarf-4156197301.git\n")
    }

    @Test func badInputExitsNonZeroWithTheReason() throws {
        let r = try ProcessRunner.run(outpost, ["tools", "image-transform", "UPPER/Case:tag", "--registry", "r:1"])
        #expect(r.status != 0)
        #expect(r.err.contains("UPPER/Case:tag"))
        let g = try ProcessRunner.run(outpost, ["tools", "git-transform", "not a url", "--server", "http://g", "--user", "u"])
        #expect(g.status != 0)
        #expect(g.err.contains("not a url"))
    }
}
