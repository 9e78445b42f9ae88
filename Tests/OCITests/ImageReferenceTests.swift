import Testing
@testable import OCI

@Suite struct ImageReferenceTests {
    @Test(arguments: [
        ("nginx", "docker.io/library/nginx:latest"),
        ("nginx:1.25", "docker.io/library/nginx:1.25"),
        ("library/nginx", "docker.io/library/nginx:latest"),
        ("index.docker.io/library/nginx:1", "docker.io/library/nginx:1"),
        ("ghcr.io/stefanprodan/podinfo:6.3.3", "ghcr.io/stefanprodan/podinfo:6.3.3"),
        ("localhost/foo", "localhost/foo:latest"),
        ("localhost:5000/a/b/c:v1", "localhost:5000/a/b/c:v1"),
        ("127.0.0.1:31999/library/nginx:latest-zarf-3793515731", "127.0.0.1:31999/library/nginx:latest-zarf-3793515731"),
        ("oci://ghcr.io/a/b:1", "ghcr.io/a/b:1"),
        ("busybox@sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79",
         "docker.io/library/busybox@sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79"),
        ("busybox:latest@sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79",
         "docker.io/library/busybox:latest@sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79"),
        ("[::1]:5000/img:tag", "[::1]:5000/img:tag"),
        ("a__b/c-d---e/f.g_h:T_1.2-x", "docker.io/a__b/c-d---e/f.g_h:T_1.2-x"),
    ])
    func normalises(_ input: String, _ expected: String) throws {
        #expect(try ImageReference(parsing: input).normalized == expected)
    }

    @Test(arguments: [
        "", "Nginx/UPPER", "nginx:", "nginx@sha256:abc", "nginx:bad tag", "-foo", "foo-", "a//b", "a/b/",
        "host:port/x", "nginx:" + String(repeating: "a", count: 129),
        "3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79", "foo..bar", "foo@",
    ])
    func rejectsMalformed(_ input: String) {
        #expect(throws: OCIError.self) { try ImageReference(parsing: input) }
    }

    @Test func errorNamesTheReferenceAndReason() {
        do {
            _ = try ImageReference(parsing: "docker.io/Library/Nginx")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("docker.io/Library/Nginx"))
            #expect("\(error)".contains("lowercase"))
        }
    }

    @Test(arguments: [
        ("nginx", "127.0.0.1:31999/library/nginx:latest-zarf-3793515731"),
        ("ghcr.io/stefanprodan/podinfo:6.3.3", "127.0.0.1:31999/stefanprodan/podinfo:6.3.3-zarf-2985051089"),
        ("busybox:latest@sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79",
         "127.0.0.1:31999/library/busybox@sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79"),
        ("127.0.0.1:31999/library/nginx:latest-zarf-3793515731", "127.0.0.1:31999/library/nginx:latest-zarf-3793515731"),
    ])
    func zarfImageTransform(_ input: String, _ expected: String) throws {
        #expect(try ZarfTransform.image(input, targetHost: "127.0.0.1:31999") == expected)
    }

    @Test func zarfGitTransform() throws {
        #expect(try ZarfTransform.gitRepoName("https://github.com/zarf-dev/zarf.git") == "zarf-4156197301")
        #expect(try ZarfTransform.gitURL("https://github.com/zarf-dev/zarf.git", server: "http://gitea.local", user: "zarf-git-user")
                == "http://gitea.local/zarf-git-user/zarf-4156197301.git")
        // The same repo without .git or with a ref gets the same mirror name.
        #expect(try ZarfTransform.gitRepoName("https://github.com/zarf-dev/zarf@v0.1.0") == "zarf-4156197301")
        let tagged = try ZarfTransform.parseGitURL("https://github.com/zarf-dev/zarf.git@v1.2.3")
        #expect(tagged.ref == "v1.2.3")
        let smart = try ZarfTransform.parseGitURL("https://github.com/zarf-dev/zarf.git/info/refs?service=git-upload-pack")
        #expect(smart.gitPath == "/info/refs?service=git-upload-pack")
        #expect(try ZarfTransform.gitURL("https://github.com/zarf-dev/zarf.git/info/refs", server: "http://g", user: "u")
                == "http://g/u/zarf-4156197301.git/info/refs")
        #expect(throws: OCIError.self) { try ZarfTransform.parseGitURL("not a url") }
    }

    @Test func crc32MatchesKnownValue() {
        // CRC-32/IEEE of "123456789" is 0xCBF43926.
        #expect(CRC32.checksum("123456789") == 0xCBF4_3926)
    }
}
