import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import OutpostCore

/// Runs one pod on one node, the way a kubelet does: pull images (honouring imagePullPolicy, backing off
/// with ErrImagePull then ImagePullBackOff), mount volumes, start the sandbox, run init containers in
/// order, start the containers, restart them per restartPolicy (CrashLoopBackOff between attempts), run
/// probes, and report status (phase, conditions, container states) until the pod is deleted.
actor PodWorker {
    let uid: String, namespace: String, name: String, node: String
    let api: ClusterAPI
    let runtime: PodmanRuntime
    let logger: Logger
    private var pulled: Set<String> = []
    private var pullFailures = 0
    private var pullBackoffUntil = Date.distantPast
    private var backoffReported = false
    private var sandboxIP: String?
    private var started = false
    private var initDone = false
    private var states: [String: ContainerRecord] = [:]
    private var waiting: (reason: String, message: String)?
    private var startTime: String?
    private let probes = Prober()

    struct ContainerRecord {
        var restartCount = 0
        var backoffUntil: Date?
        var ready = false
        var probeSuccesses = 0
        var probeFailures = 0
        var livenessFailures = 0
        var nextProbe = Date.distantPast
        var lastTerminated: JSONValue?
    }

    static let podType = ResourceType.core("Pod", "pods")

    init(pod: JSONValue, node: String, api: ClusterAPI, runtime: PodmanRuntime, logger: Logger) {
        self.uid = pod.uid; self.namespace = pod.namespace; self.name = pod.name; self.node = node
        self.api = api; self.runtime = runtime; self.logger = logger
    }

    var sandboxName: String { PodmanRuntime.containerName(uid: uid, container: "sandbox") }
    func cname(_ c: String) -> String { PodmanRuntime.containerName(uid: uid, container: c) }
    var labels: [String] { ["outpost-sim.pod-uid=\(uid)", "outpost-sim.node=\(node)", "outpost-sim.pod=\(namespace)/\(name)"] }

    func run() async {
        while !Task.isCancelled {
            guard let pod = await api.store.get("pods", namespace, name), pod.uid == uid else {
                await removeContainers(grace: 0)
                return
            }
            if pod["metadata"]?["deletionTimestamp"] != nil {
                await removeContainers(grace: min(pod["metadata"]?["deletionGracePeriodSeconds"]?.intValue ?? 30, 5))
                await api.finalizeDeletion(Self.podType, pod)
                return
            }
            do { try await step(pod) } catch {
                logger.debug("pod \(namespace)/\(name): \(error)")
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    private func removeContainers(grace: Int) async {
        let names = containerNames() + containerNames().map(PodmanRuntime.previousName) + [sandboxName]
        _ = try? await runtime.run(node, ["rm", "-f", "-i", "-t", String(grace)] + names, check: false)
        try? FileManager.default.removeItem(atPath: runtime.podDirectory(uid))
    }

    private func containerNames() -> [String] { states.keys.map(cname) }

    // MARK: The kubelet loop for one pod

    private func step(_ pod: JSONValue) async throws {
        let spec = pod["spec"] ?? [:]
        let phase = pod["status"]?["phase"]?.stringValue ?? "Pending"
        if phase == "Succeeded" || phase == "Failed" { return }
        let initContainers = spec["initContainers"]?.arrayValue ?? []
        let containers = spec["containers"]?.arrayValue ?? []
        if startTime == nil { startTime = Defaults.timestamp() }
        for c in initContainers + containers where states[c["name"]?.stringValue ?? ""] == nil {
            states[c["name"]?.stringValue ?? ""] = ContainerRecord()
        }
        let setup = PodSetup(api: api, pod: pod, directory: runtime.podDirectory(uid), stateDirectory: runtime.stateDirectory)
        if !started {
            do {
                try await pullImages(initContainers + containers, pod: pod, setup: setup)
                try await startSandbox(pod, setup: setup)
                started = true
                waiting = nil
            } catch let p as PodSetup.Pending {
                waiting = (p.reason, p.message)
                try await writeStatus(pod, inspected: [:])
                return
            }
        }
        try await refreshHosts(setup)
        var inspected = try await inspect()
        // Init containers run one at a time, each to success, before the app containers.
        if !initDone {
            for c in initContainers {
                let n = c["name"]?.stringValue ?? ""
                guard let st = inspected[n] else {
                    try await create(c, pod: pod, setup: setup)
                    try await runtime.run(node, ["start", cname(n)])
                    inspected = try await inspect()
                    try await writeStatus(pod, inspected: inspected)
                    return
                }
                if st.running { try await writeStatus(pod, inspected: inspected); return }
                if st.exitCode != 0 {
                    if spec["restartPolicy"]?.stringValue == "Never" {
                        try await writeStatus(pod, inspected: inspected, terminalPhase: "Failed"); return
                    }
                    try await restartIfDue(c, inspected: st, pod: pod, setup: setup)
                    try await writeStatus(pod, inspected: inspected)
                    return
                }
            }
            initDone = true
        }
        for c in containers {
            let n = c["name"]?.stringValue ?? ""
            if inspected[n] == nil {
                do {
                    try await create(c, pod: pod, setup: setup)
                    try await runtime.run(node, ["start", cname(n)])
                    await event(pod, "Normal", "Started", "Started container \(n)")
                } catch let p as PodSetup.Pending {
                    waiting = (p.reason, p.message)
                    try await writeStatus(pod, inspected: inspected)
                    return
                }
            }
        }
        inspected = try await inspect()
        let policy = spec["restartPolicy"]?.stringValue ?? "Always"
        var allDone = true, anyFailed = false
        for c in containers {
            let n = c["name"]?.stringValue ?? ""
            guard let st = inspected[n] else { allDone = false; continue }
            if st.running {
                allDone = false
                await probe(c, name: n, pod: pod, startedAt: st.startedAt)
                continue
            }
            states[n]?.ready = false
            let restart = policy == "Always" || (policy == "OnFailure" && st.exitCode != 0)
            if restart { allDone = false; try await restartIfDue(c, inspected: st, pod: pod, setup: setup) }
            else if st.exitCode != 0 { anyFailed = true }
        }
        inspected = try await inspect()
        try await writeStatus(pod, inspected: inspected, terminalPhase: allDone ? (anyFailed ? "Failed" : "Succeeded") : nil)
    }

    /// Restarts an exited container once its back-off has passed. As with the kubelet, each restart is a
    /// new container (fresh root filesystem; volumes persist); the one that ended is kept as
    /// `<name>.previous` for `kubectl logs --previous`.
    private func restartIfDue(_ c: JSONValue, inspected st: ContainerState, pod: JSONValue, setup: PodSetup) async throws {
        let n = c["name"]?.stringValue ?? ""
        guard var rec = states[n] else { return }
        let now = Date()
        if let until = rec.backoffUntil {
            if now < until { return }
            rec.backoffUntil = nil
            rec.restartCount += 1
            rec.lastTerminated = st.terminatedJSON
            rec.probeFailures = 0; rec.probeSuccesses = 0; rec.livenessFailures = 0; rec.ready = false
            rec.nextProbe = .distantPast
            states[n] = rec
            _ = try? await runtime.run(node, ["rm", "-f", "-i", PodmanRuntime.previousName(cname(n))], check: false)
            try await runtime.run(node, ["rename", cname(n), PodmanRuntime.previousName(cname(n))])
            try await create(c, pod: pod, setup: setup)
            try await runtime.run(node, ["start", cname(n)])
            return
        }
        // Kubernetes backs off 10 s doubling to 5 min; the simulator uses 2 s doubling to 40 s.
        let delay = min(2.0 * pow(2.0, Double(rec.restartCount)), 40)
        rec.backoffUntil = now.addingTimeInterval(delay)
        // While backing off, lastState is the instance that just ended (as the kubelet reports it).
        rec.lastTerminated = st.terminatedJSON
        states[n] = rec
        if let pod = await api.store.get("pods", namespace, name) {
            await event(pod, "Warning", "BackOff", "Back-off restarting failed container \(n) in pod \(name)_\(namespace)(\(uid))")
        }
    }

    private func pullImages(_ containers: [JSONValue], pod: JSONValue, setup: PodSetup) async throws {
        for c in containers {
            let image = c["image"]?.stringValue ?? ""
            let n = c["name"]?.stringValue ?? ""
            if pulled.contains(image) { continue }
            let policy = c["imagePullPolicy"]?.stringValue ?? "IfNotPresent"
            let present = await runtime.imageExists(node: node, image: image)
            if policy == "Never" {
                if present { pulled.insert(image); continue }
                throw PodSetup.Pending(reason: "ErrImageNeverPull", message: "Container image \"\(image)\" is not present with pull policy of Never")
            }
            if policy == "IfNotPresent" && present { pulled.insert(image); continue }
            if Date() < pullBackoffUntil {
                if !backoffReported {
                    backoffReported = true
                    await event(pod, "Normal", "BackOff", "Back-off pulling image \"\(image)\"")
                    await event(pod, "Warning", "Failed", "Error: ImagePullBackOff")
                }
                throw PodSetup.Pending(reason: "ImagePullBackOff", message: "Back-off pulling image \"\(image)\"")
            }
            backoffReported = false
            await event(pod, "Normal", "Pulling", "Pulling image \"\(image)\"")
            do {
                try await runtime.pull(node: node, image: image, auths: await setup.pullAuths())
                pulled.insert(image)
                pullFailures = 0
                await event(pod, "Normal", "Pulled", "Successfully pulled image \"\(image)\"")
            } catch {
                pullFailures += 1
                pullBackoffUntil = Date().addingTimeInterval(min(2.0 * pow(2.0, Double(pullFailures - 1)), 30))
                let message = "Failed to pull image \"\(image)\": \(error)"
                await event(pod, "Warning", "Failed", message)
                await event(pod, "Warning", "Failed", "Error: ErrImagePull")
                _ = n
                throw PodSetup.Pending(reason: "ErrImagePull", message: message)
            }
        }
    }

    private func startSandbox(_ pod: JSONValue, setup: PodSetup) async throws {
        try FileManager.default.createDirectory(atPath: runtime.podDirectory(uid), withIntermediateDirectories: true)
        let exists = try await runtime.run(node, ["container", "exists", sandboxName], check: false)
        if exists.status != 0 {
            var args = ["run", "-d", "--name", sandboxName, "--pull", "never", "--hostname", String(name.prefix(63))]
            for l in labels { args += ["--label", l] }
            if pod["spec"]?["hostNetwork"]?.boolValue == true { args += ["--network", "host"] }
            else { args += ["--network", "bridge"] }
            args.append(PodmanRuntime.pauseImage)
            try await runtime.run(node, args)
        }
        let r = try await runtime.run(node, ["inspect", sandboxName, "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"])
        let ip = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
        sandboxIP = ip.isEmpty ? "127.0.0.1" : ip
        try await refreshHosts(setup, force: true)
    }

    private var hostsPath: String { runtime.podDirectory(uid) + "/hosts" }
    private var hostsContent = ""
    private var hostsCheckedAt = Date.distantPast

    /// Keeps the pod's /etc/hosts current as services come and go (rewritten in place: containers
    /// bind-mount the file, so a rename would leave them with the old one).
    private func refreshHosts(_ setup: PodSetup, force: Bool = false) async throws {
        guard setup.usesClusterHosts, force || Date().timeIntervalSince(hostsCheckedAt) >= 2 else { return }
        hostsCheckedAt = Date()
        let content = await setup.hostsFile(podIP: sandboxIP ?? "127.0.0.1")
        guard content != hostsContent || force else { return }
        let fd = open(hostsPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw SimulatorError.state(path: hostsPath, why: String(cString: strerror(errno))) }
        defer { close(fd) }
        let bytes = Array(content.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else {
            throw SimulatorError.state(path: hostsPath, why: "short write: \(String(cString: strerror(errno)))")
        }
        hostsContent = content
    }

    private var volumes: [String: String]? = nil

    private func create(_ c: JSONValue, pod: JSONValue, setup: PodSetup) async throws {
        if volumes == nil { volumes = try await setup.materializeVolumes() }
        let n = c["name"]?.stringValue ?? ""
        let env = try await setup.environment(c, podIP: sandboxIP ?? "")
        var imageUser: String? = nil
        let runAsUser = c["securityContext"]?["runAsUser"] ?? pod["spec"]?["securityContext"]?["runAsUser"]
        let runAsGroup = c["securityContext"]?["runAsGroup"] ?? pod["spec"]?["securityContext"]?["runAsGroup"]
        if runAsUser == nil, runAsGroup != nil {
            imageUser = try? await runtime.run(node, ["image", "inspect", "--format", "{{.Config.User}}",
                                                      PodmanRuntime.normalize(c["image"]?.stringValue ?? "")]).out
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let args = setup.createArguments(c, containerName: cname(n), sandbox: sandboxName, volumes: volumes ?? [:],
                                         env: env, labels: labels + ["outpost-sim.container=\(n)"],
                                         hostsFile: setup.usesClusterHosts ? hostsPath : nil, imageUser: imageUser)
        _ = try? await runtime.run(node, ["rm", "-f", cname(n)], check: false)
        try await runtime.run(node, ["create"] + args)
    }

    // MARK: Observing containers

    struct ContainerState {
        var running: Bool
        var exitCode: Int
        var startedAt: String
        var finishedAt: String
        var imageID: String
        var terminatedJSON: JSONValue {
            ["terminated": ["exitCode": .number(Double(exitCode)), "reason": .string(exitCode == 0 ? "Completed" : "Error"),
                            "startedAt": .string(startedAt), "finishedAt": .string(finishedAt)]]
        }
    }

    private func inspect() async throws -> [String: ContainerState] {
        let names = states.keys.map(cname)
        var out: [String: ContainerState] = [:]
        guard !names.isEmpty else { return out }
        let r = try await runtime.run(node, ["inspect", "--type", "container"] + names, check: false)
        guard let arr = try? JSONValue.parse(r.stdout).arrayValue else { return out }
        for c in arr {
            guard let full = c["Name"]?.stringValue else { continue }
            guard let n = states.keys.first(where: { cname($0) == full }) else { continue }
            let st = c["State"]
            out[n] = ContainerState(running: st?["Running"]?.boolValue ?? false, exitCode: st?["ExitCode"]?.intValue ?? 0,
                                    startedAt: Self.k8sTime(st?["StartedAt"]?.stringValue), finishedAt: Self.k8sTime(st?["FinishedAt"]?.stringValue),
                                    imageID: c["Image"]?.stringValue ?? "")
        }
        return out
    }

    /// Podman's `2026-11-27 20:20:04.53 +0000 UTC` or RFC 3339 with nanoseconds → `2026-11-27T20:20:04Z`.
    static func k8sTime(_ s: String?) -> String {
        guard let s, s.count >= 19 else { return Defaults.timestamp() }
        let base = s.prefix(19).replacingOccurrences(of: " ", with: "T")
        return base + "Z"
    }

    private func probe(_ c: JSONValue, name n: String, pod: JSONValue, startedAt: String) async {
        guard var rec = states[n] else { return }
        let now = Date()
        let started = Rollout.date(startedAt) ?? .distantPast
        func due(_ probe: JSONValue) -> Bool {
            now >= rec.nextProbe && now.timeIntervalSince(started) >= Double(probe["initialDelaySeconds"]?.intValue ?? 0)
        }
        if let liveness = c["livenessProbe"], due(liveness) {
            let ok = await probes.run(liveness, ip: sandboxIP ?? "127.0.0.1", container: c, runtime: runtime, node: node, containerName: cname(n))
            rec.livenessFailures = ok ? 0 : rec.livenessFailures + 1
            if rec.livenessFailures >= (liveness["failureThreshold"]?.intValue ?? 3) {
                await event(pod, "Warning", "Unhealthy", "Liveness probe failed; container \(n) will be restarted")
                _ = try? await runtime.run(node, ["stop", "-t", "1", cname(n)], check: false)
                rec.livenessFailures = 0
            }
        }
        if let readiness = c["readinessProbe"] {
            if due(readiness) {
                let ok = await probes.run(readiness, ip: sandboxIP ?? "127.0.0.1", container: c, runtime: runtime, node: node, containerName: cname(n))
                if ok { rec.probeSuccesses += 1; rec.probeFailures = 0 } else { rec.probeFailures += 1; rec.probeSuccesses = 0 }
                if rec.probeSuccesses >= (readiness["successThreshold"]?.intValue ?? 1) { rec.ready = true }
                if rec.probeFailures >= (readiness["failureThreshold"]?.intValue ?? 3) { rec.ready = false }
                let period = Double(readiness["periodSeconds"]?.intValue ?? 10)
                rec.nextProbe = now.addingTimeInterval(min(period, 2))
            }
        } else {
            rec.ready = true
        }
        if c["livenessProbe"] != nil && c["readinessProbe"] == nil { rec.nextProbe = now.addingTimeInterval(1) }
        states[n] = rec
    }

    // MARK: Status

    private func containerStatus(_ c: JSONValue, _ st: ContainerState?) -> JSONValue {
        let n = c["name"]?.stringValue ?? ""
        let rec = states[n] ?? ContainerRecord()
        var state: JSONValue
        if let st {
            if st.running { state = ["running": ["startedAt": .string(st.startedAt)]] }
            else if rec.backoffUntil != nil {
                state = ["waiting": ["reason": "CrashLoopBackOff",
                                     "message": .string("back-off restarting failed container \(n) in pod \(name)_\(namespace)(\(uid))")]]
            } else { state = st.terminatedJSON }
        } else if let w = waiting {
            state = ["waiting": ["reason": .string(w.reason), "message": .string(w.message)]]
        } else {
            state = ["waiting": ["reason": "ContainerCreating"]]
        }
        var o: [String: JSONValue] = ["name": .string(n), "image": c["image"] ?? "", "imageID": .string(st.map { "sha256:" + $0.imageID } ?? ""),
                                      "ready": .bool(st?.running == true && rec.ready), "restartCount": .number(Double(rec.restartCount)),
                                      "started": .bool(st?.running == true), "state": state, "lastState": rec.lastTerminated ?? [:]]
        if st != nil { o["containerID"] = .string("podman://" + cname(n)) }
        return .object(o)
    }

    private func writeStatus(_ pod: JSONValue, inspected: [String: ContainerState], terminalPhase: String? = nil) async throws {
        let spec = pod["spec"] ?? [:]
        let containers = spec["containers"]?.arrayValue ?? []
        let initContainers = spec["initContainers"]?.arrayValue ?? []
        let statuses = containers.map { containerStatus($0, inspected[$0["name"]?.stringValue ?? ""]) }
        let initStatuses = initContainers.map { containerStatus($0, inspected[$0["name"]?.stringValue ?? ""]) }
        let allReady = !statuses.isEmpty && statuses.allSatisfy { $0["ready"]?.boolValue == true }
        let anyRunning = containers.contains { inspected[$0["name"]?.stringValue ?? ""]?.running == true }
        let phase = terminalPhase ?? (anyRunning || (initDone && !inspected.isEmpty && started) ? "Running" : "Pending")
        let old = pod["status"] ?? [:]
        func condition(_ type: String, _ ok: Bool) -> JSONValue {
            let previous = (old["conditions"]?.arrayValue ?? []).first { $0["type"]?.stringValue == type }
            let status: JSONValue = ok ? "True" : "False"
            let since = previous?["status"] == status ? (previous?["lastTransitionTime"] ?? .string(Defaults.timestamp())) : .string(Defaults.timestamp())
            return ["type": .string(type), "status": status, "lastProbeTime": .null, "lastTransitionTime": since]
        }
        let ready = allReady && terminalPhase == nil
        var status: [String: JSONValue] = [
            "phase": .string(phase), "hostIP": "127.0.0.1", "hostIPs": [["ip": "127.0.0.1"]], "qosClass": old["qosClass"] ?? "BestEffort",
            "startTime": .string(startTime ?? Defaults.timestamp()),
            "conditions": [condition("PodReadyToStartContainers", started), condition("Initialized", initDone || initContainers.isEmpty),
                           condition("Ready", ready), condition("ContainersReady", ready), condition("PodScheduled", true)],
            "containerStatuses": .array(statuses),
        ]
        if !initStatuses.isEmpty { status["initContainerStatuses"] = .array(initStatuses) }
        if let ip = sandboxIP { status["podIP"] = .string(ip); status["podIPs"] = [["ip": .string(ip)]] }
        let newStatus = JSONValue.object(status)
        if Self.stripTimes(newStatus) == Self.stripTimes(old) { return }
        await api.modify(Self.podType, namespace, name, status: true) { o in
            guard o.uid == self.uid else { return false }
            o["status"] = newStatus
            return true
        }
    }

    private static func stripTimes(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let o): return .object(o.filter { !["lastTransitionTime", "startTime"].contains($0.key) }.mapValues(stripTimes))
        case .array(let a): return .array(a.map(stripTimes))
        default: return v
        }
    }

    private func event(_ pod: JSONValue, _ type: String, _ reason: String, _ message: String) async {
        await Events.record(api: api, involved: pod, type: type, reason: reason, message: message, component: "kubelet", host: node)
    }
}

/// Writes core/v1 Events (what `kubectl describe` shows under "Events").
enum Events {
    static func record(api: ClusterAPI, involved o: JSONValue, type: String, reason: String, message: String,
                       component: String, host: String? = nil) async {
        let now = JSONValue.string(Defaults.timestamp())
        let ns = o.namespace.isEmpty ? "default" : o.namespace
        var source: [String: JSONValue] = ["component": .string(component)]
        if let host { source["host"] = .string(host) }
        let event: JSONValue = [
            "metadata": ["name": .string("\(o.name).\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"), "namespace": .string(ns)],
            "involvedObject": ["kind": o["kind"] ?? "", "apiVersion": o["apiVersion"] ?? "", "name": .string(o.name),
                               "namespace": .string(o.namespace), "uid": .string(o.uid)],
            "type": .string(type), "reason": .string(reason), "message": .string(message), "source": .object(source),
            "firstTimestamp": now, "lastTimestamp": now, "count": 1, "reportingComponent": .string(component),
        ]
        _ = try? await api.create(.core("Event", "events"), namespace: ns, event, ClusterAPI.WriteOptions(admit: false))
    }
}
