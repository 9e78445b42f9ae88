import Foundation
import OutpostCore
import Packaging

/// Hands the filled staging directory to Packaging's layout writer with create's options.
enum PackageArchiveWriter {
    static func write(resolved: ResolvedPackage, staging: String, options: CreateOptions,
                      progress: ProgressReporter) throws -> String {
        let writeOptions = PackageWriteOptions(maxPackageSizeMB: options.maxPackageSizeMB ?? 0,
                                               signingKeyPath: options.signingKeyPath, progress: progress)
        return try PackageWriter.write(staging: staging, definition: resolved, outputDirectory: options.outputDirectory,
                                       options: writeOptions).path
    }
}
