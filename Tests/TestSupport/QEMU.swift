import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Boots a disk image or an ISO under QEMU with real UEFI firmware (OVMF, TCG: no KVM here), the serial
/// console on a log file, and waits for a marker line. QEMU is always stopped (SIGTERM, then SIGKILL) when
/// the marker, a failure marker or the timeout is reached, or when the caller throws.
public enum QEMU {
    public enum Medium: Sendable {
        /// A raw disk image on virtio-blk (what a USB stick looks like to the firmware: a GPT disk).
        case disk(String)
        /// An ISO on the q35 AHCI CD-ROM.
        case cdrom(String)
    }

    public struct BootResult: Sendable {
        public let succeeded: Bool
        public let console: String
        public let seconds: Double
    }

    public static let ovmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd"
    public static let ovmfVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"

    /// Boots `medium` and waits up to `timeout` seconds for `marker` on the serial console. Returns
    /// `succeeded == false` with the console so far when `failureMarker` appears, QEMU exits first, or
    /// the time runs out.
    public static func boot(_ medium: Medium, marker: String, failureMarker: String? = nil,
                            timeout: TimeInterval = 300, workDirectory: String) async throws -> BootResult {
        guard FileManager.default.fileExists(atPath: ovmfCode) else {
            throw TestInitramfsError("OVMF not installed (\(ovmfCode)); run scripts/install-deps")
        }
        let vars = workDirectory + "/OVMF_VARS-\(UUID().uuidString).fd"
        try FileManager.default.copyItem(atPath: ovmfVars, toPath: vars)
        defer { try? FileManager.default.removeItem(atPath: vars) }
        let log = workDirectory + "/qemu-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        var args = [
            "-machine", "q35,accel=tcg", "-m", "1024", "-nographic", "-no-reboot", "-nodefaults",
            "-serial", "stdio", "-monitor", "none",
            "-drive", "if=pflash,format=raw,readonly=on,file=\(ovmfCode)",
            "-drive", "if=pflash,format=raw,file=\(vars)",
        ]
        switch medium {
        case .disk(let path): args += ["-drive", "file=\(path),format=raw,if=virtio,readonly=on"]
        case .cdrom(let path): args += ["-drive", "file=\(path),format=raw,media=cdrom,readonly=on"]
        }
        let start = Date()
        let service = try BackgroundService(name: "qemu", program: "qemu-system-x86_64", arguments: args, logPath: log)
        defer { service.stop() }
        let deadline = start.addingTimeInterval(timeout)
        while Date() < deadline {
            let console = service.log
            if console.contains(marker) {
                return BootResult(succeeded: true, console: console, seconds: Date().timeIntervalSince(start))
            }
            if let failureMarker, console.contains(failureMarker) { break }
            if !service.process.isRunning { break }
            try await Task.sleep(nanoseconds: 250_000_000)
        }
        // Give a failure line a moment to be flushed before reporting.
        try? await Task.sleep(nanoseconds: 300_000_000)
        return BootResult(succeeded: service.log.contains(marker), console: service.log,
                          seconds: Date().timeIntervalSince(start))
    }
}
