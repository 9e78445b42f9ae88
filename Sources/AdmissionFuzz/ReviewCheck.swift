import Admission
import Foundation

/// Checks the webhook's whole exchange (`Mutator.review`: the tape tokenizer, the typed readers, the hooks and
/// the response writer) on arbitrary bytes: whatever comes in, it returns an answer or refuses it, never
/// crashes; it never accepts a body that Foundation's JSON parser (an independent one) rejects; and what it
/// answers is an AdmissionReview for the same uid whose patch, when there is one, is base64 of a JSON Patch
/// that applies to the request's object (applied by `FoundationJSONPatch`, not by the agent's code).
enum ReviewCheck {
    static let mutator = Mutator(config: AgentConfig(gitServerAddress: "http://zarf-gitea-http.zarf.svc.cluster.local:3000",
                                                     gitPullPassword: "pull", policy: .all))

    /// The first thing wrong with the answer to `bytes` (its first byte picks the hook), or nil.
    static func check(_ bytes: [UInt8]) -> String? {
        guard let first = bytes.first else { return nil }
        let hook = Hook.allCases[Int(first) % Hook.allCases.count]
        let body = Data(bytes.dropFirst())
        let answer: Data
        do {
            answer = try mutator.review(hook, body: body)
        } catch {
            return nil  // a refusal (the server answers 400 with its message)
        }
        guard let review = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            return "\(hook): accepted a body that Foundation does not read as a JSON object"
        }
        guard let out = try? JSONSerialization.jsonObject(with: answer) as? [String: Any],
              let response = out["response"] as? [String: Any] else {
            return "\(hook): the answer is not a JSON object with a response: \(String(decoding: answer, as: UTF8.self))"
        }
        let uid = (review["request"] as? [String: Any])?["uid"] as? String
        guard response["uid"] as? String == uid else {
            return "\(hook): answer uid \(String(describing: response["uid"])) for request uid \(String(describing: uid))"
        }
        guard response["allowed"] is Bool else { return "\(hook): the answer has no allowed" }
        if let patch = response["patch"] {
            guard let text = patch as? String, let decoded = Data(base64Encoded: text),
                  let operations = try? JSONSerialization.jsonObject(with: decoded) as? [[String: Any]] else {
                return "\(hook): the patch is not base64 of a JSON array of objects"
            }
            for operation in operations {
                guard let op = operation["op"] as? String, ["add", "replace", "remove", "test"].contains(op),
                      let path = operation["path"] as? String, path.hasPrefix("/") else {
                    return "\(hook): a patch operation without a known op or an absolute path: \(operation)"
                }
            }
            return checkApplied(operations, hook: hook, request: review["request"] as? [String: Any])
        }
        return nil
    }

    /// The patch must apply to the request's object, as the API server applies it. The patched object must be
    /// labeled `zarf-agent: patched` (except a Pod patched through `pods/ephemeralcontainers`), so that the
    /// agent leaves a Pod alone when the API server calls it again. Every container image and image volume of a
    /// Pod (only the ephemeral containers through the subresource) must now name the internal registry, and a
    /// Flux source must carry the internal server's secret (and an `oci://` URL for the registry's sources). A Flux
    /// GitRepository's URL and every Argo CD repository URL must now point at the internal git server (or registry,
    /// for `oci://`), or be left as they were where Zarf leaves them (see `checkSourceURL`).
    static func checkApplied(_ operations: [[String: Any]], hook: Hook, request: [String: Any]?) -> String? {
        guard let object = request?["object"], object is [String: Any] else {
            return "\(hook): a patch for a request without an object"
        }
        let patched: Any
        do {
            patched = try FoundationJSONPatch.apply(operations, to: object)
        } catch {
            return "\(hook): the patch does not apply to the object: \(error.description)"
        }
        let result = patched as? [String: Any]
        let whole = (request?["subResource"] as? String ?? "").isEmpty
        if whole {
            let labels = (result?["metadata"] as? [String: Any])?["labels"] as? [String: Any]
            guard labels?["zarf-agent"] as? String == "patched" else {
                return "\(hook): the patched object is not labeled zarf-agent: patched"
            }
        }
        switch hook {
        case .pod: return checkPod(result, original: object, whole: whole, hook: hook)
        case .fluxGitRepository, .fluxHelmRepository, .fluxOCIRepository:
            // A Flux source now pulls from the internal git server or registry, with its credentials.
            let spec = result?["spec"] as? [String: Any]
            let secret = (spec?["secretRef"] as? [String: Any])?["name"] as? String
            let expected = hook == .fluxGitRepository ? "private-git-server" : "private-registry"
            guard secret == expected else { return "\(hook): spec.secretRef.name is \(String(describing: secret)), not \(expected)" }
            // Moved to oci://<registry>/…, or left as it was: Zarf leaves a URL alone whose host is already the
            // registry's (flux-helmrepo.go `DoHostnamesMatch`, even for an https:// URL).
            let url = spec?["url"] as? String
            let originalURL = ((object as? [String: Any])?["spec"] as? [String: Any])?["url"] as? String
            if hook != .fluxGitRepository, !(url?.hasPrefix("oci://") ?? false), url != originalURL {
                return "\(hook): spec.url is \(String(describing: url)) after the patch, not an oci:// URL"
            }
            if hook == .fluxGitRepository, let failure = checkSourceURL(url, from: originalURL) { return "\(hook): spec.url \(failure)" }
            return nil
        case .argoApplication, .argoApplicationSet, .argoAppProject, .argoRepository:
            return checkArgo(result, original: object as? [String: Any], hook: hook)
        }
    }

    /// The repository URLs of a patched Argo CD object: see `checkApplied`. An AppProject keeps the entries that are
    /// not URLs the agent can move (such as `*`), so there an unchanged entry is always right.
    static func checkArgo(_ object: [String: Any]?, original: [String: Any]?, hook: Hook) -> String? {
        func at(_ value: Any?, _ path: [Any]) -> Any? {
            path.reduce(value) { value, step in
                if let key = step as? String { return (value as? [String: Any])?[key] }
                guard let list = value as? [Any], let i = step as? Int, i < list.count else { return nil }
                return list[i]
            }
        }
        var places: [(field: String, path: [Any])] = []
        switch hook {
        case .argoApplication:
            places.append(("spec.source.repoURL", ["spec", "source", "repoURL"]))
            for i in (at(original, ["spec", "sources"]) as? [Any] ?? []).indices {
                places.append(("spec.sources[\(i)].repoURL", ["spec", "sources", i, "repoURL"]))
            }
        case .argoApplicationSet:
            for i in (at(original, ["spec", "generators"]) as? [Any] ?? []).indices {
                places.append(("spec.generators[\(i)].git.repoURL", ["spec", "generators", i, "git", "repoURL"]))
            }
        case .argoAppProject:
            for i in (at(original, ["spec", "sourceRepos"]) as? [Any] ?? []).indices {
                let before = at(original, ["spec", "sourceRepos", i]), after = at(object, ["spec", "sourceRepos", i])
                if let before = before as? String, let after = after as? String, before == after { continue }
                places.append(("spec.sourceRepos[\(i)]", ["spec", "sourceRepos", i]))
            }
        default:  // a repository Secret: base64 in `data`, with the pull credentials beside the URL
            func decoded(_ value: Any?) -> String? {
                (value as? String).flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
            }
            let url = decoded(at(object, ["data", "url"])), originalURL = decoded(at(original, ["data", "url"]))
            if let failure = checkSourceURL(url, from: originalURL) { return "\(hook): data.url \(failure)" }
            for key in ["username", "password"] where decoded(at(object, ["data", key])) == nil {
                return "\(hook): data.\(key) is not base64 after the patch"
            }
            return nil
        }
        for place in places {
            guard let original = at(original, place.path) as? String, !original.isEmpty else { continue }
            if let failure = checkSourceURL(at(object, place.path), from: original) { return "\(hook): \(place.field) \(failure)" }
        }
        return nil
    }

    /// The internal git server and the user its repositories are pushed under.
    static let gitServer = mutator.config.gitServerAddress, gitUser = mutator.config.gitPushUsername

    /// A source URL after the patch: moved under the git server's push user (`<server>/<user>/…`), or for an
    /// `oci://` URL under the registry (`oci://<registry>/…`); or left as it was when its host is already that
    /// service's host (Zarf's `DoHostnamesMatch`). A missing or empty original is not the agent's to move.
    static func checkSourceURL(_ url: Any?, from original: String?) -> String? {
        guard let original, !original.isEmpty else { return nil }
        guard let url = url as? String else { return "is \(String(describing: url)) after the patch" }
        let oci = original.hasPrefix("oci://")
        let target = oci ? "oci://" + registry + "/" : (gitServer.hasSuffix("/") ? gitServer : gitServer + "/") + gitUser + "/"
        if url.hasPrefix(target) { return nil }
        let service = oci ? "oci://" + registry : gitServer
        if url == original, let host = urlHost(original), host == urlHost(service) { return nil }
        return "is \(url) after the patch (from \(original)), neither under \(target) nor left on a host that is already the service's"
    }

    /// The host of a URL as Go's `url.Hostname()` gives it for these: after `://` and any user info, without the port
    /// or IPv6 brackets, lower-cased; nil without `://` or a host. (The check's own reading: it follows the same
    /// rule as the agent's `References.hostname` on purpose, so a change to either one shows up as a finding.)
    static func urlHost(_ url: String) -> String? {
        guard let scheme = url.range(of: "://") else { return nil }
        var authority = url[scheme.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let host: Substring
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
        } else {
            host = authority.prefix { $0 != ":" }
        }
        return host.isEmpty ? nil : host.lowercased()
    }

    /// A patched Pod's images: see `checkApplied`.
    static func checkPod(_ pod: [String: Any]?, original object: Any, whole: Bool, hook: Hook) -> String? {
        // Every image the patch was for now comes from the internal registry.
        let spec = pod?["spec"] as? [String: Any]
        let originalSpec = (object as? [String: Any])?["spec"] as? [String: Any]
        let lists = whole ? ["initContainers", "containers", "ephemeralContainers"] : ["ephemeralContainers"]
        for list in lists {
            let originals = originalSpec?[list] as? [Any] ?? []
            for (i, container) in (spec?[list] as? [Any] ?? []).enumerated() {
                let original = i < originals.count ? (originals[i] as? [String: Any])?["image"] as? String : nil
                if let failure = checkRewritten((container as? [String: Any])?["image"], from: original) {
                    return "\(hook): spec.\(list)[\(i)].image \(failure)"
                }
            }
        }
        let originalVolumes = originalSpec?["volumes"] as? [Any] ?? []
        for (i, volume) in (whole ? spec?["volumes"] as? [Any] ?? [] : []).enumerated() {
            guard let source = (volume as? [String: Any])?["image"] as? [String: Any] else { continue }
            let originalSource = i < originalVolumes.count ? (originalVolumes[i] as? [String: Any])?["image"] as? [String: Any] : nil
            if let failure = checkRewritten(source["reference"], from: originalSource?["reference"] as? String) {
                return "\(hook): spec.volumes[\(i)].image.reference \(failure)"
            }
        }
        return nil
    }

    /// Where the agent's mutator sends images.
    static let registry = mutator.config.registryAddress

    /// Zarf's rule for one image: left as it was when the registry address starts with the image's host (Zarf's
    /// `strings.HasPrefix(targetHost, image.Host)`, which also passes `127.0.0/x` through for `127.0.0.1:31999`),
    /// otherwise moved to the registry.
    static func checkRewritten(_ image: Any?, from original: String?) -> String? {
        guard let image = image as? String else { return "is \(String(describing: image)) after the patch" }
        if let original, registry.hasPrefix(dockerHost(original)) {
            return image == original ? nil : "was \(original), which names the registry, and became \(image)"
        }
        return image.hasPrefix(registry + "/") ? nil : "is \(image) after the patch, outside the registry \(registry)"
    }

    /// The registry host of an image reference by Docker's rule: the first path component when it holds a `.` or
    /// a `:`, is `localhost` or has an upper-case letter; otherwise Docker Hub. (A separate reading from the
    /// agent's `ImageReference`.)
    static func dockerHost(_ reference: String) -> String {
        let name = reference.hasPrefix("oci://") ? reference.dropFirst(6) : reference[...]
        guard let slash = name.firstIndex(of: "/") else { return "docker.io" }
        let first = name[..<slash]
        let isHost = first.contains(".") || first.contains(":") || first == "localhost" || first.contains(where: \.isUppercase)
        return isHost ? String(first) : "docker.io"
    }
}
