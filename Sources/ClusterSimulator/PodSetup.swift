import Foundation
import OutpostCore
#if canImport(Glibc)
import Glibc
#endif

/// Turns a pod spec into what podman needs: volume directories (ConfigMap and Secret files with items
/// and modes, emptyDir, hostPath, claims), environment (values, ConfigMap/Secret/field references,
/// envFrom), pull credentials from imagePullSecrets, and the `podman create` arguments for a container.
struct PodSetup {
    let api: ClusterAPI
    let pod: JSONValue
    let directory: String
    let stateDirectory: String

    struct Pending: Error { var reason: String; var message: String }

    var namespace: String { pod.namespace }

    /// Writes every volume under the pod directory; returns volume name → host path.
    func materializeVolumes() async throws -> [String: String] {
        var out: [String: String] = [:]
        for v in pod["spec"]?["volumes"]?.arrayValue ?? [] {
            guard let name = v["name"]?.stringValue else { continue }
            let dir = directory + "/volumes/" + name
            if let hp = v["hostPath"] {
                let path = hp["path"]?.stringValue ?? "/"
                let type = hp["type"]?.stringValue ?? ""
                if type == "DirectoryOrCreate" { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
                if type == "FileOrCreate", !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
                out[name] = path
            } else if v["emptyDir"] != nil {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                chmod(dir, 0o777)
                out[name] = dir
            } else if let pvc = v["persistentVolumeClaim"]?["claimName"]?.stringValue {
                let path = stateDirectory + "/volumes/\(namespace)/\(pvc)"
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                chmod(path, 0o777)
                out[name] = path
            } else if let src = v["configMap"] ?? v["secret"] {
                let isSecret = v["secret"] != nil
                let objName = (isSecret ? src["secretName"] : src["name"])?.stringValue ?? ""
                let optional = src["optional"]?.boolValue ?? false
                let key = isSecret ? "secrets" : "configmaps"
                var files: [String: Data] = [:]
                if let obj = await api.store.get(key, namespace, objName) {
                    files = Self.contents(obj, secret: isSecret)
                } else if !optional {
                    throw Pending(reason: "ContainerCreating", message: "MountVolume.SetUp failed for volume \"\(name)\": \(isSecret ? "secret" : "configmap") \"\(objName)\" not found")
                }
                let mode = src["defaultMode"]?.intValue ?? 0o644
                try? FileManager.default.removeItem(atPath: dir)
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                var chosen: [(String, Data, Int)] = []
                if let items = src["items"]?.arrayValue {
                    for item in items {
                        guard let k = item["key"]?.stringValue, let p = item["path"]?.stringValue else { continue }
                        guard let data = files[k] else {
                            if optional { continue }
                            throw Pending(reason: "ContainerCreating", message: "MountVolume.SetUp failed for volume \"\(name)\": key \"\(k)\" not found in \(objName)")
                        }
                        chosen.append((p, data, item["mode"]?.intValue ?? mode))
                    }
                } else {
                    chosen = files.map { ($0.key, $0.value, mode) }
                }
                for (path, data, m) in chosen {
                    let full = dir + "/" + path
                    try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                    try AtomicFile.write(data, to: full, mode: mode_t(m))
                }
                out[name] = dir
            }
        }
        return out
    }

    static func contents(_ obj: JSONValue, secret: Bool) -> [String: Data] {
        var files: [String: Data] = [:]
        for (k, v) in obj["data"]?.objectValue ?? [:] {
            let s = v.stringValue ?? ""
            files[k] = secret ? (Data(base64Encoded: s) ?? Data()) : Data(s.utf8)
        }
        for (k, v) in obj["binaryData"]?.objectValue ?? [:] where !secret {
            files[k] = Data(base64Encoded: v.stringValue ?? "") ?? Data()
        }
        return files
    }

    /// Docker config `auths` merged from the pod's imagePullSecrets.
    func pullAuths() async -> JSONValue? {
        var auths: [String: JSONValue] = [:]
        for ref in pod["spec"]?["imagePullSecrets"]?.arrayValue ?? [] {
            guard let name = ref["name"]?.stringValue, let s = await api.store.get("secrets", namespace, name) else { continue }
            if let b64 = s["data"]?[".dockerconfigjson"]?.stringValue, let d = Data(base64Encoded: b64),
               let cfg = try? JSONValue.parse(d) {
                for (host, v) in cfg["auths"]?.objectValue ?? [:] { auths[host] = v }
            } else if let b64 = s["data"]?[".dockercfg"]?.stringValue, let d = Data(base64Encoded: b64),
                      let cfg = try? JSONValue.parse(d) {
                for (host, v) in cfg.objectValue ?? [:] { auths[host] = v }
            }
        }
        return auths.isEmpty ? nil : .object(auths)
    }

    /// The container's environment, resolving references.
    func environment(_ c: JSONValue, podIP: String) async throws -> [(String, String)] {
        var env: [(String, String)] = []
        if let ip = await api.store.get("services", "default", "kubernetes")?["spec"]?["clusterIP"]?.stringValue {
            env += [("KUBERNETES_SERVICE_HOST", ip), ("KUBERNETES_SERVICE_PORT", "443"), ("KUBERNETES_SERVICE_PORT_HTTPS", "443")]
        }
        if pod["spec"]?["enableServiceLinks"]?.boolValue != false {
            env += await serviceLinks()
        }
        for from in c["envFrom"]?.arrayValue ?? [] {
            let prefix = from["prefix"]?.stringValue ?? ""
            if let ref = from["configMapRef"] ?? from["secretRef"] {
                let secret = from["secretRef"] != nil
                let n = ref["name"]?.stringValue ?? ""
                guard let obj = await api.store.get(secret ? "secrets" : "configmaps", namespace, n) else {
                    if ref["optional"]?.boolValue == true { continue }
                    throw Pending(reason: "CreateContainerConfigError", message: "\(secret ? "secret" : "configmap") \"\(n)\" not found")
                }
                for (k, v) in Self.contents(obj, secret: secret).sorted(by: { $0.key < $1.key }) { env.append((prefix + k, String(decoding: v, as: UTF8.self))) }
            }
        }
        for e in c["env"]?.arrayValue ?? [] {
            guard let name = e["name"]?.stringValue else { continue }
            if let v = e["value"]?.stringValue { env.append((name, v)); continue }
            guard let vf = e["valueFrom"] else { env.append((name, "")); continue }
            if let ref = vf["configMapKeyRef"] ?? vf["secretKeyRef"] {
                let secret = vf["secretKeyRef"] != nil
                let n = ref["name"]?.stringValue ?? "", key = ref["key"]?.stringValue ?? ""
                let obj = await api.store.get(secret ? "secrets" : "configmaps", namespace, n)
                guard let data = obj.flatMap({ Self.contents($0, secret: secret)[key] }) else {
                    if ref["optional"]?.boolValue == true { continue }
                    throw Pending(reason: "CreateContainerConfigError", message: "couldn't find key \(key) in \(secret ? "Secret" : "ConfigMap") \(namespace)/\(n)")
                }
                env.append((name, String(decoding: data, as: UTF8.self)))
            } else if let path = vf["fieldRef"]?["fieldPath"]?.stringValue {
                let value: String
                switch path {
                case "status.podIP": value = podIP
                case "status.hostIP": value = "127.0.0.1"
                case "spec.nodeName": value = pod["spec"]?["nodeName"]?.stringValue ?? ""
                case "spec.serviceAccountName": value = pod["spec"]?["serviceAccountName"]?.stringValue ?? ""
                default:
                    var v: JSONValue? = pod
                    for p in path.split(separator: ".") {
                        let s = String(p)
                        if s.hasPrefix("labels['") || s.hasPrefix("annotations['") { v = nil; break }
                        v = v?[s]
                    }
                    value = v?.stringValue ?? ""
                }
                env.append((name, value))
            }
        }
        return env
    }

    /// The variables Kubernetes gives a pod for each service of its namespace (`WEB_SERVICE_HOST`,
    /// `WEB_SERVICE_PORT`, `WEB_SERVICE_PORT_<NAME>`, `WEB_PORT=tcp://ip:port`, …).
    func serviceLinks() async -> [(String, String)] {
        var env: [(String, String)] = []
        let (services, _) = await api.store.list("services", namespace: namespace)
        for s in services where !(s.namespace == "default" && s.name == "kubernetes") {
            guard let ip = s["spec"]?["clusterIP"]?.stringValue, !ip.isEmpty, ip != "None",
                  let ports = s["spec"]?["ports"]?.arrayValue, let first = ports.first?["port"]?.intValue else { continue }
            let prefix = s.name.uppercased().replacingOccurrences(of: "-", with: "_")
            env += [("\(prefix)_SERVICE_HOST", ip), ("\(prefix)_SERVICE_PORT", String(first))]
            let proto = (ports.first?["protocol"]?.stringValue ?? "TCP").lowercased()
            env.append(("\(prefix)_PORT", "\(proto)://\(ip):\(first)"))
            for p in ports {
                guard let port = p["port"]?.intValue else { continue }
                let protocolName = (p["protocol"]?.stringValue ?? "TCP")
                if let name = p["name"]?.stringValue, !name.isEmpty {
                    env.append(("\(prefix)_SERVICE_PORT_\(name.uppercased().replacingOccurrences(of: "-", with: "_"))", String(port)))
                }
                let base = "\(prefix)_PORT_\(port)_\(protocolName)"
                env += [(base, "\(protocolName.lowercased())://\(ip):\(port)"), (base + "_PROTO", protocolName.lowercased()),
                        (base + "_PORT", String(port)), (base + "_ADDR", ip)]
            }
        }
        return env
    }

    /// `podman create` arguments (after `create`) for one container of the pod.
    func createArguments(_ c: JSONValue, containerName: String, sandbox: String, volumes: [String: String],
                         env: [(String, String)], labels: [String], hostsFile: String?, imageUser: String? = nil) -> [String] {
        var args = ["--name", containerName, "--pull", "never", "--network", "container:\(sandbox)", "--ipc", "container:\(sandbox)"]
        if let hostsFile { args += ["--volume", "\(hostsFile):/etc/hosts"] }
        for l in labels { args += ["--label", l] }
        for (k, v) in env { args += ["--env", "\(k)=\(v)"] }
        for m in c["volumeMounts"]?.arrayValue ?? [] {
            guard let vname = m["name"]?.stringValue, var host = volumes[vname], let path = m["mountPath"]?.stringValue else { continue }
            if let sub = m["subPath"]?.stringValue, !sub.isEmpty {
                host += "/" + sub
                if !FileManager.default.fileExists(atPath: host) { try? FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true) }
            }
            args += ["--volume", "\(host):\(path)\(m["readOnly"]?.boolValue == true ? ":ro" : "")"]
        }
        let psc = pod["spec"]?["securityContext"]
        let sc = c["securityContext"]
        let user = sc?["runAsUser"]?.intValue ?? psc?["runAsUser"]?.intValue
        let group = sc?["runAsGroup"]?.intValue ?? psc?["runAsGroup"]?.intValue
        if let user { args += ["--user", group.map { "\(user):\($0)" } ?? String(user)] }
        else if let group {
            // The image's user with the pod's primary group.
            let imageUser = (imageUser ?? "").split(separator: ":").first.map(String.init) ?? ""
            args += ["--user", "\(imageUser.isEmpty ? "0" : imageUser):\(group)"]
        }
        if let fsGroup = psc?["fsGroup"]?.intValue { args += ["--group-add", String(fsGroup)] }
        if sc?["privileged"]?.boolValue == true { args.append("--privileged") }
        if sc?["readOnlyRootFilesystem"]?.boolValue == true { args.append("--read-only") }
        if let wd = c["workingDir"]?.stringValue { args += ["--workdir", wd] }
        if c["stdin"]?.boolValue == true { args.append("--interactive") }
        if c["tty"]?.boolValue == true { args.append("--tty") }
        if let command = c["command"]?.arrayValue {
            let json = (try? JSONValue.array(command).encoded()).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
            args += ["--entrypoint", json]
        }
        args.append(PodmanRuntime.normalize(c["image"]?.stringValue ?? ""))
        args += (c["args"]?.arrayValue ?? []).compactMap(\.stringValue)
        return args
    }

    /// The pod's /etc/hosts, as the kubelet writes it plus what cluster DNS would answer: localhost, the
    /// pod's own name, `spec.hostAliases`, and each service's names (`<svc>` only in the pod's namespace,
    /// `<svc>.<ns>`, `<svc>.<ns>.svc`, `<svc>.<ns>.svc.cluster.local`) at its cluster IP; a headless
    /// service's names resolve to its first ready endpoint.
    ///
    /// A cluster IP's names are listed only once the service proxy has put that IP on the host's loopback
    /// interface (it reconciles every half second). Until then a connection to the IP leaves the machine by
    /// the default route, to whatever answers there: a pod started together with its service did that in
    /// its first second. A name that does not resolve yet fails at once, as before a DNS record exists.
    func hostsFile(podIP: String) async -> String {
        var lines = ["# Kubernetes-managed hosts file (outpost-sim).", "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        let hostname = pod["spec"]?["hostname"]?.stringValue ?? pod.name
        if let sub = pod["spec"]?["subdomain"]?.stringValue {
            lines.append("\(podIP)\t\(hostname).\(sub).\(namespace).svc.cluster.local\t\(hostname)")
        } else {
            lines.append("\(podIP)\t\(hostname)")
        }
        for alias in pod["spec"]?["hostAliases"]?.arrayValue ?? [] {
            let names = (alias["hostnames"]?.arrayValue ?? []).compactMap(\.stringValue)
            if let ip = alias["ip"]?.stringValue, !names.isEmpty { lines.append("\(ip)\t\(names.joined(separator: " "))") }
        }
        let (services, _) = await api.store.list("services", namespace: nil)
        for s in services {
            var ip = s["spec"]?["clusterIP"]?.stringValue ?? ""
            if ip == "None" {
                ip = await api.store.get("endpoints", s.namespace, s.name)?["subsets"]?[0]?["addresses"]?[0]?["ip"]?.stringValue ?? ""
            } else if !ip.isEmpty && !Allocator.isLocalAddress(ip) {
                continue  // the service proxy has not put this cluster IP on the host yet
            }
            guard !ip.isEmpty else { continue }
            var names = ["\(s.name).\(s.namespace).svc.cluster.local", "\(s.name).\(s.namespace).svc", "\(s.name).\(s.namespace)"]
            if s.namespace == namespace { names.append(s.name) }
            lines.append("\(ip)\t\(names.joined(separator: " "))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Whether the pod's containers get the simulator's /etc/hosts (not for host-network pods, which
    /// see the host's names unless they ask for cluster names with ClusterFirstWithHostNet).
    var usesClusterHosts: Bool {
        pod["spec"]?["hostNetwork"]?.boolValue != true || pod["spec"]?["dnsPolicy"]?.stringValue == "ClusterFirstWithHostNet"
    }
}
