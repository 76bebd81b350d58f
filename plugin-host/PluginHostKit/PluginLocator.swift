import Foundation

/// Finds the plugin executable named on the command line.
enum PluginLocator {
    /// `name` as a path when it contains a `/` or names a file here; otherwise the first
    /// executable of that name in `PATH`. A name found nowhere is returned as given, so that
    /// starting it reports the failure.
    static func locate(_ name: String, environment: [String: String]) -> URL {
        let files = FileManager.default
        if name.contains("/") || files.fileExists(atPath: name) {
            return URL(fileURLWithPath: name)
        }
        for directory in (environment["PATH"] ?? "").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if files.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return URL(fileURLWithPath: name)
    }
}
