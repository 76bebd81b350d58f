/// A NULL-terminated array of C strings, lent for one call.
enum CStringList {
    /// Calls `body` with `strings` as a NULL-terminated `const char *const *`. The strings are
    /// copied into one buffer that lives until `body` returns. Strings must not contain NUL.
    static func with<Result>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> Result) -> Result {
        var storage: [UInt8] = []
        var offsets: [Int] = []
        offsets.reserveCapacity(strings.count)
        for string in strings {
            offsets.append(storage.count)
            storage.append(contentsOf: string.utf8)
            storage.append(0)
        }
        storage.append(0)
        return storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!)
            let pointers = offsets.map { Optional((base + $0).assumingMemoryBound(to: CChar.self)) } + [nil]
            return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
        }
    }
}
