import Admission
import Foundation
import OutpostCore
import Testing

/// AdmissionReview envelopes, zarf-state reading and route naming.
@Suite struct ReviewParsingTests {
    @Test(arguments: [
        ("", "malformed JSON"),
        ("{", "malformed JSON"),
        ("[]", "not a JSON object"),
        (#"{"apiVersion":"v1","kind":"Pod"}"#, "unsupported review v1/Pod"),
        (#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#, "missing or invalid field request"),
        (#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}"#, "request.uid"),
        (#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u"}}"#, "request.operation"),
    ])
    func malformedReviewsAreRejectedWithAReason(body: String, needle: String) {
        do {
            _ = try AdmissionRequest.parse(Data(body.utf8))
            Issue.record("\(body) was accepted")
        } catch {
            #expect(String(describing: error).contains(needle), "\(error)")
        }
    }

    @Test func deepNestingIsRejectedBeforeParsing() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: AdmissionError.self) { try AdmissionRequest.parse(Data(deep.utf8)) }
        // brackets inside strings do not count
        let body = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":{"a":"\#(String(repeating: "[", count: 500))"}}}"#
        #expect((try? AdmissionRequest.parse(Data(body.utf8)))?.uid == "u")
    }

    @Test func zarfStateIsRead() throws {
        let state = #"""
        {"distro":"talos","storageClass":"local","agentMutationPolicy":"labeled",
         "registryInfo":{"pushUsername":"zarf-push","pushPassword":"p1","pullUsername":"zarf-pull","pullPassword":"p2",
                         "address":"127.0.0.1:31999","nodePort":31999,"secret":"s","registryMode":"nodeport"},
         "gitServer":{"pushUsername":"zarf-git-user","pushPassword":"g1","pullUsername":"zarf-git-read-user","pullPassword":"g2",
                      "address":"http://zarf-gitea-http.zarf.svc.cluster.local:3000"},
         "agentTLS":{"ca":"","cert":"","key":""},"injectorInfo":{"injectorImage":"x","payLoadConfigMapAmount":3,"payLoadShaSum":"y","port":5000}}
        """#
        let c = try AgentConfig(zarfState: Data(state.utf8))
        #expect(c == AgentConfig(registryAddress: "127.0.0.1:31999", registryInternal: true, registryPullUsername: "zarf-pull",
                                 registryPullPassword: "p2", gitServerAddress: "http://zarf-gitea-http.zarf.svc.cluster.local:3000",
                                 gitPushUsername: "zarf-git-user", gitPullUsername: "zarf-git-read-user", gitPullPassword: "g2",
                                 policy: .labeled))
        let external = try AgentConfig(zarfState: Data(#"{"registryInfo":{"address":"reg.example.com","registryMode":"external"}}"#.utf8))
        #expect(!external.registryInternal && external.policy == .all && !external.gitServerConfigured)
        let legacy = try AgentConfig(zarfState: Data(#"{"registryInfo":{"address":"127.0.0.1:31999","nodePort":31999}}"#.utf8))
        #expect(legacy.registryInternal)
    }

    @Test(arguments: ["", "[]", #"{"registryInfo":{}}"#, #"{"registryInfo":{"address":"a"},"agentMutationPolicy":"some"}"#])
    func badStateIsRejected(state: String) {
        #expect(throws: AdmissionError.self) { try AgentConfig(zarfState: Data(state.utf8)) }
    }

    @Test func routesMatchZarf() throws {
        #expect(Hook.allCases.map(\.path).sorted() == [
            "/mutate/argocd-application", "/mutate/argocd-applicationset", "/mutate/argocd-appproject",
            "/mutate/argocd-repository", "/mutate/flux-gitrepository", "/mutate/flux-helmrepository",
            "/mutate/flux-ocirepository", "/mutate/pod"])
        #expect(try Hook(path: "/mutate/pod") == .pod)
        #expect(throws: AdmissionError.self) { try Hook(path: "/mutate/nothing") }
    }

    @Test func responseCarriesUIDAndBase64Patch() throws {
        let request = AdmissionRequest(uid: "abc", object: [:])
        let review = try AdmissionResult.allow([.add("/metadata/labels", ["a": "b"])]).review(for: request)
        #expect(review["response"]?["uid"]?.stringValue == "abc")
        let patch = try #require(review["response"]?["patch"]?.stringValue.flatMap { Data(base64Encoded: $0) })
        #expect(try JSONValue.parse(patch) == [["op": "add", "path": "/metadata/labels", "value": ["a": "b"]]])
        let denied = try AdmissionResult.deny("no").review(for: request)
        #expect(denied["response"]?["allowed"] == false)
        #expect(denied["response"]?["patch"] == nil)
        #expect(denied["response"]?["status"]?["message"]?.stringValue == "no")
    }
}

/// The webhook's own JSON reader must agree with Foundation's on every document it accepts.
@Suite struct JSONReaderTests {
    static let objects: [String] = [
        #"{}"#, #"[]"#, #"{"a":[1,-2.5,3e2,0,-0.0,1E-3,true,false,null,"x"]}"#,
        #"{"s":"tab\there \"quoted\" back\\slash \/ \u00e9\u4e2d \ud83d\ude80 \b\f\n\r"}"#,
        #"  { "spaced" : [ { } , [ ] ] , "k" : "v" }  "#,
        #"{"big":12345678901234,"neg":-9007199254740991,"frac":0.1}"#,
        #"{"emoji":"🚀","nul":"\u0000"}"#,
    ]

    @Test(arguments: objects)
    func agreesWithFoundation(object: String) throws {
        let body = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":\#(object)}}"#
        let ours = try AdmissionRequest.parse(Data(body.utf8)).object
        let foundation = try JSONValue.parse(Data(object.utf8))
        #expect(ours == foundation)
    }

    @Test(arguments: [#"{"a":}"#, #"{"a":01}"#, #"{"a":1.}"#, #"{"a":"\x"}"#, #"{"a":"\ud800"}"#, "{\"a\":\"\u{01}\"}",
                      #"{"a":1e999}"#, #"{"a":tru}"#, #"{"a":1} x"#, #"{"a":"unterminated}"#, #"{'a':1}"#, #"[1,]"#])
    func rejectsInvalidJSONWithAnOffset(object: String) {
        let body = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":\#(object)}}"#
        do {
            _ = try AdmissionRequest.parse(Data(body.utf8))
            Issue.record("accepted \(object)")
        } catch {
            #expect(String(describing: error).contains("byte offset"), "\(error)")
        }
    }

    /// The pod hook's parse skips what it does not read; skipped parts get the same checks and the same
    /// error (message and byte offset) as a full parse.
    @Test(arguments: [#"{"a":}"#, #"{"a":01}"#, #"{"a":1.}"#, #"{"a":"\x"}"#, #"{"a":"\ud800"}"#, "{\"a\":\"\u{01}\"}",
                      #"{"a":1e999}"#, #"{"a":tru}"#, #"{"a":"unterminated}"#, #"{'a':1}"#, #"[1,]"#,
                      String(repeating: "[", count: 200) + String(repeating: "]", count: 200)])
    func skippedPartsAreCheckedLikeBuiltOnes(bad: String) {
        for body in [
            #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","oldObject":\#(bad),"object":{}}}"#,
            #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":{"spec":{"containers":[{"image":"a","env":\#(bad)}]}}}}"#,
        ] {
            var errors: [String] = []
            for hook in [nil, Hook.pod, Hook.fluxGitRepository] {
                do { _ = try AdmissionRequest.parse(Data(body.utf8), for: hook); errors.append("accepted") } catch { errors.append("\(error)") }
            }
            #expect(errors[0] != "accepted" && errors[0].contains("byte offset"), "\(errors[0])")
            #expect(errors[1] == errors[0] && errors[2] == errors[0], "\(errors)")
        }
    }

    @Test func invalidUTF8InASkippedStringIsRejected() {
        var body = Array(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":{},"oldObject":{"a":"xé"}}}"#.utf8)
        body[body.count - 6] = 0xFF  // the first byte of é
        #expect(throws: AdmissionError.self) { try AdmissionRequest.parse(Data(body), for: .pod) }
    }

    /// What the pod hook reads is built exactly as a full parse builds it, keys with escapes included, so
    /// the mutation is the same.
    @Test func podFilterGivesTheSameMutationAsAFullParse() throws {
        let object = #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"app":"x","l\u0061bel":"v"},"annotations":{"a/b":"c\"d"},"managedFields":[{"x":1}]},"spec":{"initContainers":[{"name":"init","image":"busybox:1.36","args":["a","\u00e9"]}],"containers":[{"na\u006De":"web","image":"ghcr.io/org/web:1.0","ports":[{"containerPort":80}],"resources":{"limits":{"cpu":"1"}}},{"name":"side","image":"nginx@sha256:\#(String(repeating: "a", count: 64))","env":[{"name":"K","value":"V"}]}],"volumes":[{"name":"img","image":{"reference":"quay.io/x/data:2"}},{"name":"e","emptyDir":{}}],"nodeSelector":{"k":"v"}}}"#
        let body = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"namespace":"ns","operation":"CREATE","userInfo":{"username":"me"},"object":\#(object),"oldObject":null}}"#
        let full = try AdmissionRequest.parse(Data(body.utf8))
        let filtered = try AdmissionRequest.parse(Data(body.utf8), for: .pod)
        #expect(filtered.object != full.object, "the filter should have left something out")
        #expect(filtered.uid == full.uid && filtered.namespace == full.namespace && filtered.kind == full.kind)
        let mutator = Mutator(config: AgentConfig(registryAddress: "127.0.0.1:31999"))
        let a = mutator.mutate(.pod, full), b = mutator.mutate(.pod, filtered)
        #expect(a.allowed && a.patch.count > 5)
        #expect(a == b)
    }

    /// Duplicate keys: the last one wins, as in Go's encoding/json (what the API server and Zarf's agent see).
    @Test func duplicateKeysKeepTheLastAsGoDoes() throws {
        let body = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":{"dup":1,"dup":2}}}"#
        #expect(try AdmissionRequest.parse(Data(body.utf8)).object == ["dup": 2])
    }

    @Test func invalidUTF8IsRejected() {
        var body = Array(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":{"a":"x"}}}"#.utf8)
        body[body.count - 5] = 0xFF
        #expect(throws: AdmissionError.self) { try AdmissionRequest.parse(Data(body)) }
    }
}
