import Foundation
import OCI
import OutpostCore

/// What to plan: the package's name and architecture, its seed images and image layout, the injector
/// binary, and optionally the cluster's nodes and pods (to pin the pod and pick its image).
public struct InitPlanRequest: Sendable {
    public var packageName: String
    public var architecture: String
    public var seedImages: [ImageReference]
    public var injectorBinary: String
    public var nodes: JSONValue?
    public var pods: JSONValue?
    public var chunkSize: Int64

    public init(packageName: String, architecture: String, seedImages: [ImageReference], injectorBinary: String,
                nodes: JSONValue? = nil, pods: JSONValue? = nil, chunkSize: Int64 = ChunkPlan.defaultChunkSize) {
        self.packageName = packageName
        self.architecture = architecture
        self.seedImages = seedImages
        self.injectorBinary = injectorBinary
        self.nodes = nodes
        self.pods = pods
        self.chunkSize = chunkSize
    }
}

/// What was planned and written (also saved as `plan.json`).
public struct InitPlanResult: Sendable, Codable {
    public let payloadSHA256: String
    public let payloadSize: Int64
    public let chunks: [String]
    public let images: [SeedImage]
    /// nil when no node and pod lists were given: the Pod then needs a nodeName and image by hand.
    public let placement: InjectorPlacement?
    /// Files written, relative to the output directory, in apply order.
    public let manifests: [String]
}

/// Plans a seed-registry injection into a directory an operator can inspect or `kubectl apply -f`:
/// `chunks/zarf-payload-NNN` (the payload pieces), `manifests/*.json` (ConfigMaps, Service, Pod, in
/// apply order) and `plan.json`. Every file is written atomically.
public enum InitPlanner {
    /// The ConfigMap limit the binary must fit (etcd's 1 MiB object limit, before base64).
    public static let binaryLimit = 1 << 20

    public static func plan(_ request: InitPlanRequest, store: LayoutStore, outputDirectory dir: String,
                            progress: ProgressReporter = SilentProgress()) throws -> InitPlanResult {
        let binary = try readBinary(request.injectorBinary)
        let placement: InjectorPlacement?
        if let nodes = request.nodes, let pods = request.pods {
            placement = try InjectorPlacementPlanner.choose(nodes: nodes, pods: pods, architecture: request.architecture)
        } else {
            placement = nil
        }
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: dir + "/chunks", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: dir + "/manifests", withIntermediateDirectories: true)
        } catch {
            throw InjectionError.io(path: dir, reason: "cannot create the output directory: \(error.localizedDescription)")
        }
        progress.begin("payload", total: nil, unit: .bytes)
        let payloadPath = dir + "/.payload.tar"
        let payload = try SeedPayload.write(seedImages: request.seedImages, from: store, to: payloadPath)
        defer { try? fm.removeItem(atPath: payloadPath) }
        progress.end("payload")
        let plan = try ChunkPlan(payloadSize: payload.size, chunkSize: request.chunkSize)

        // Remove chunk and manifest files of an earlier plan so the directory matches this one.
        for sub in ["chunks", "manifests"] {
            for name in (try? fm.contentsOfDirectory(atPath: dir + "/" + sub)) ?? []
            where name.hasPrefix("zarf-payload-") || name.hasSuffix(".json") {
                try? fm.removeItem(atPath: dir + "/" + sub + "/" + name)
            }
        }
        var manifests: [String] = []
        func writeObject(_ name: String, _ object: JSONValue) throws {
            let rel = "manifests/" + name
            try AtomicFile.write(try object.encoded(pretty: true), to: dir + "/" + rel)
            manifests.append(rel)
        }
        try writeObject("00-configmap-rust-binary.json",
                        InjectorObjects.binaryConfigMap(binary: binary, packageName: request.packageName))
        guard let input = FileHandle(forReadingAtPath: payloadPath) else {
            throw InjectionError.io(path: payloadPath, reason: "cannot reopen the payload")
        }
        defer { try? input.close() }
        progress.begin("chunks", total: Int64(plan.chunks.count), unit: .items)
        for chunk in plan.chunks {
            let data: Data
            do {
                try input.seek(toOffset: UInt64(chunk.offset))
                data = try input.read(upToCount: Int(chunk.length)) ?? Data()
            } catch {
                throw InjectionError.io(path: payloadPath, reason: "cannot read bytes at \(chunk.offset): \(error.localizedDescription)")
            }
            guard data.count == Int(chunk.length) else {
                throw InjectionError.io(path: payloadPath, reason: "short read at byte \(chunk.offset)")
            }
            try AtomicFile.write(data, to: dir + "/chunks/" + chunk.name)
            try writeObject("10-configmap-\(chunk.name).json",
                            InjectorObjects.payloadConfigMap(chunkName: chunk.name, data: data, packageName: request.packageName))
            progress.advance("chunks", by: 1)
        }
        progress.end("chunks")
        try writeObject("20-service-zarf-injector.json", InjectorObjects.service())
        try writeObject("30-pod-injector.json", InjectorObjects.pod(
            chunkNames: plan.chunks.map(\.name), payloadSHA256: payload.sha256,
            image: placement?.image ?? InjectorObjects.imagePlaceholder, nodeName: placement?.nodeName))
        let result = InitPlanResult(payloadSHA256: payload.sha256, payloadSize: payload.size,
                                    chunks: plan.chunks.map(\.name), images: payload.images,
                                    placement: placement, manifests: manifests)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(result), to: dir + "/plan.json")
        return result
    }

    static func readBinary(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InjectionError.injectorBinary(path: path, reason: "cannot be read")
        }
        guard !data.isEmpty else { throw InjectionError.injectorBinary(path: path, reason: "is empty") }
        guard data.count < binaryLimit else {
            throw InjectionError.injectorBinary(path: path, reason: "is \(data.count) bytes; a ConfigMap holds under \(binaryLimit)")
        }
        return data
    }
}
