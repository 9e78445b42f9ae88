import Foundation
import OCI
import Registry
import Testing
import TestSupport

/// docker-registry with htpasswd basic auth: credentials from a Docker config.json, refused ones named.
@Suite struct AuthTests {
    @Test func basicAuthFromDockerConfigPullsAndPushes() async throws {
        try await withDockerRegistry(auth: true) { registry in
            try await withTemporaryDirectory { dir in
                let image = try TestImages.makeImage(in: dir + "/src", tag: "v1", layerSizes: [4000, 20_000])
                let pushed = try TestImages.push(image, to: registry, repository: "private/app")
                let config = try registry.writeDockerConfig()
                let client = testClient(dockerConfig: config)
                try await client.ping(registry.host)
                let store = try LayoutStore(path: dir + "/store")
                let d = try await client.pullImage(try ImageReference(parsing: pushed), platform: amd64, into: store)
                #expect(d.digest.description == image.digest)
                try expectComplete(d, in: store)
                let dest = try ImageReference(parsing: "\(registry.host)/private/copy:v2")
                let report = try await client.pushImage(from: store, descriptor: d, to: dest)
                #expect(report.blobsMounted + report.blobsUploaded == 3)
                let c = try #require(registry.credentials)
                let inspected = try skopeoInspect(["--tls-verify=false", "--creds", "\(c.user):\(c.password)", "docker://\(dest.normalized)"])
                #expect(inspected["Digest"] as? String == image.digest)
            }
        }
    }

    @Test func wrongOrMissingCredentialsAreRefusedWithAClearError() async throws {
        try await withDockerRegistry(auth: true) { registry in
            try await withTemporaryDirectory { dir in
                let image = try TestImages.makeImage(in: dir + "/src", tag: "v1", layerSizes: [100])
                let pushed = try TestImages.push(image, to: registry, repository: "private/app")
                let ref = try ImageReference(parsing: pushed)
                let store = try LayoutStore(path: dir + "/store")
                let c = try #require(registry.credentials)

                let wrong = testClient(credentials: [registry.host: Credentials(username: c.user, password: "not-" + c.password)])
                let e1 = await #expect(throws: RegistryError.self) { _ = try await wrong.pullImage(ref, platform: amd64, into: store) }
                guard case .unauthorized(let host, let repo, true, _) = e1 else { Issue.record("got \(String(describing: e1))"); return }
                #expect(host == registry.host && repo == "private/app")
                #expect(e1?.description.contains("refused the credentials") == true)

                let e2 = await #expect(throws: RegistryError.self) { _ = try await testClient().pullImage(ref, platform: amd64, into: store) }
                guard case .unauthorized(_, _, false, _) = e2 else { Issue.record("got \(String(describing: e2))"); return }
                #expect(e2?.description.contains("no credentials for \(registry.host)") == true)

                // A malformed config file is named when credentials are first needed.
                let bad = dir + "/bad-config.json"
                try Data("{\"auths\": 3}".utf8).write(to: URL(fileURLWithPath: bad))
                let e3 = await #expect(throws: RegistryError.self) { _ = try await testClient(dockerConfig: bad).pullImage(ref, platform: amd64, into: store) }
                #expect(e3?.description.contains(bad) == true)
                #expect(try store.allBlobs().isEmpty)
            }
        }
    }

    @Test func bearerTokensFromTheRealmAreFetchedOncePerScopeAndReused() async throws {
        try await withTokenAuthRegistry { tokenRegistry in
            let registry = tokenRegistry.registry
            try await withTemporaryDirectory { dir in
                let image = try TestImages.makeImage(in: dir + "/src", tag: "v1", layerSizes: [1000, 30_000, 60_000])
                let pushed = try TestImages.push(image, to: registry, repository: "bearer/app")
                let before = tokenRegistry.tokenRequests().count
                let client = testClient(dockerConfig: try registry.writeDockerConfig())
                let store = try LayoutStore(path: dir + "/store")
                let d = try await client.pullImage(try ImageReference(parsing: pushed), platform: amd64, into: store)
                #expect(d.digest.description == image.digest)
                try expectComplete(d, in: store)
                // One manifest and four blobs, but a single token for the pull scope.
                let pullRequests = tokenRegistry.tokenRequests().dropFirst(before)
                #expect(pullRequests.count == 1)
                #expect(pullRequests.first == ["repository:bearer/app:pull"])

                let dest = try ImageReference(parsing: "\(registry.host)/bearer/copy:v1")
                let report = try await client.pushImage(from: store, descriptor: d, to: dest)
                #expect(report.blobsMounted == 4, "mount needs push on the target and pull on the source: \(report)")
                let c = try #require(registry.credentials)
                let inspected = try skopeoInspect(["--tls-verify=false", "--creds", "\(c.user):\(c.password)", "docker://\(dest.normalized)"])
                #expect(inspected["Digest"] as? String == image.digest)

                let wrong = testClient(credentials: [registry.host: Credentials(username: c.user, password: "wrong")])
                let e = await #expect(throws: RegistryError.self) {
                    _ = try await wrong.pullImage(try ImageReference(parsing: pushed), platform: amd64, into: store)
                }
                guard case .unauthorized(_, _, true, let detail) = e else { Issue.record("got \(String(describing: e))"); return }
                #expect(detail.contains("invalid username or password"))
            }
        }
    }
}
