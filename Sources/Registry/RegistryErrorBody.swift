import Foundation

/// The error JSON a registry sends (`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"…","detail":…}]}`),
/// reduced to what a user should read.
struct RegistryErrorBody: Decodable {
    struct Entry: Decodable {
        var code: String?
        var message: String?
    }
    var errors: [Entry]?

    /// The error codes in the body (`MANIFEST_UNKNOWN`, `UNAUTHORIZED`, …).
    static func codes(_ data: Data) -> [String] {
        ((try? JSONDecoder().decode(RegistryErrorBody.self, from: data))?.errors ?? []).compactMap(\.code)
    }

    /// `CODE: message; CODE: message`, or the start of the body when it is not error JSON.
    static func summary(_ data: Data) -> String {
        if let parsed = try? JSONDecoder().decode(RegistryErrorBody.self, from: data), let errors = parsed.errors, !errors.isEmpty {
            return errors.map { e in [e.code, e.message].compactMap { $0 }.joined(separator: ": ") }.joined(separator: "; ")
        }
        let text = String(decoding: data.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text
    }
}
