import Foundation

/// The checks this target runs, by name.
enum FuzzTarget: String, CaseIterable {
    case http, review

    func check(_ bytes: [UInt8]) -> String? {
        switch self {
        case .http: return HTTPParserCheck.check(bytes)
        case .review: return ReviewCheck.check(bytes)
        }
    }
}

#if OUTPOST_LIBFUZZER
// Built by scripts/fuzz/run with `-sanitize=fuzzer,address`. SwiftPM links an executable's own `main`, so this one
// hands the command line to libFuzzer's driver, which calls `fuzzOneInput` for each input.
let selectedTarget = FuzzTarget(rawValue: ProcessInfo.processInfo.environment["OUTPOST_FUZZ_TARGET"] ?? "") ?? {
    FileHandle.standardError.write(Data("set OUTPOST_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
    exit(2)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let failure = selectedTarget.check(bytes) {
        FileHandle.standardError.write(Data("\(selectedTarget.rawValue) check failed: \(failure)\n".utf8))
        abort()
    }
    return 0
}

@main
struct AdmissionFuzzMain {
    typealias Driver = @convention(c) (UnsafeMutablePointer<CInt>, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                                       @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

    static func main() {
        _ = selectedTarget
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "LLVMFuzzerRunDriver") else {
            FileHandle.standardError.write(Data("libFuzzer's LLVMFuzzerRunDriver is not linked in\n".utf8))
            exit(2)
        }
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(unsafeBitCast(symbol, to: Driver.self)(&argc, &argv, fuzzOneInput))
    }
}
#else
/// Replays inputs (libFuzzer's findings or a corpus) through one check without libFuzzer:
/// `AdmissionFuzz http|review FILE|DIRECTORY...`. Exits 1 when any input fails its check.
@main
struct AdmissionFuzzReplay {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        guard let name = args.first, let target = FuzzTarget(rawValue: name), args.count > 1 else {
            print("usage: AdmissionFuzz \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE|DIRECTORY...")
            print("Replays fuzz inputs through one check; scripts/fuzz/run builds the libFuzzer version.")
            exit(args.first == "--help" || args.first == "-h" ? 0 : 2)
        }
        var files: [String] = []
        for path in args.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("AdmissionFuzz: \(path): no such file or directory\n".utf8))
                exit(2)
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.sorted().map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        var failed = 0
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            if let failure = target.check(Array(data)) {
                print("\(file): \(failure)")
                failed += 1
            }
        }
        print("\(files.count) input(s), \(failed) failed")
        exit(failed == 0 ? 0 : 1)
    }
}
#endif
