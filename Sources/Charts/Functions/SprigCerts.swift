import Crypto
import _CryptoExtras
import Foundation
import SwiftASN1
import X509

/// Sprig's `certificate` struct: what `genCA`, `genSelfSignedCert`, `genSignedCert` and
/// `buildCustomCert` return, with `.Cert` and `.Key` as PEM text.
struct CertificateObject: TemplateObject {
    let cert: String
    let key: String
    var goTypeName: String { "sprig.certificate" }
    var goDescription: String { "{\(cert) \(key)}" }
    func field(_ name: String) -> Value? {
        switch name {
        case "Cert": return .string(cert)
        case "Key": return .string(key)
        case "__json__": return .dict(["Cert": .string(cert), "Key": .string(key)])
        default: return nil
        }
    }
}

/// Sprig's key and certificate functions (genPrivateKey, genCA, genSelfSignedCert, genSignedCert,
/// their `WithKey` forms, buildCustomCert), built on swift-crypto and swift-certificates with the
/// certificate template Sprig gives Go's x509: a random 128-bit serial, CN only, NotBefore now,
/// NotAfter now + days, KeyUsage KeyEncipherment|DigitalSignature (+CertSign for CAs),
/// ExtKeyUsage ServerAuth+ClientAuth, BasicConstraints, SANs from the IP and DNS lists.
enum SprigCerts {
    static func register(_ f: inout [String: FunctionSpec]) {
        f["genPrivateKey"] = FunctionSpec(1, 1) { ctx, a in
            let type = try Arg2.string(a[0])
            guard let key = try SprigKey.generate(type, ctx: ctx) else { return .string("Unknown type " + type) }
            return .string(key.pem)
        }
        f["genCA"] = FunctionSpec(2, 2) { ctx, a in
            let cn = try Arg2.string(a[0]), days = try Arg2.int(a[1])
            let key = SprigKey.rsa(try rsa2048(ctx))
            return try authority(cn: cn, days: days, key: key, ctx: ctx)
        }
        f["genCAWithKey"] = FunctionSpec(3, 3) { ctx, a in
            let cn = try Arg2.string(a[0]), days = try Arg2.int(a[1])
            let key = try parsing { try SprigKey.parse(try Arg2.string(a[2])) }
            return try authority(cn: cn, days: days, key: key, ctx: ctx)
        }
        f["genSelfSignedCert"] = FunctionSpec(4, 4) { ctx, a in
            let (cn, ips, dns, days) = try certArgs(a)
            let key = SprigKey.rsa(try rsa2048(ctx))
            return try make(cn: cn, ips: ips, dns: dns, days: days, isCA: false, key: key, issuer: nil, ctx: ctx)
        }
        f["genSelfSignedCertWithKey"] = FunctionSpec(5, 5) { ctx, a in
            let (cn, ips, dns, days) = try certArgs(a)
            let key = try parsing { try SprigKey.parse(try Arg2.string(a[4])) }
            return try make(cn: cn, ips: ips, dns: dns, days: days, isCA: false, key: key, issuer: nil, ctx: ctx)
        }
        f["genSignedCert"] = FunctionSpec(5, 5) { ctx, a in
            let (cn, ips, dns, days) = try certArgs(a)
            let ca = try caArg(a[4])
            let issuer = try signer(ca)
            let key = SprigKey.rsa(try rsa2048(ctx))
            return try make(cn: cn, ips: ips, dns: dns, days: days, isCA: false, key: key, issuer: issuer, ctx: ctx)
        }
        f["genSignedCertWithKey"] = FunctionSpec(6, 6) { ctx, a in
            let (cn, ips, dns, days) = try certArgs(a)
            let ca = try caArg(a[4])
            let key = try parsing { try SprigKey.parse(try Arg2.string(a[5])) }
            let issuer = try signer(ca)
            return try make(cn: cn, ips: ips, dns: dns, days: days, isCA: false, key: key, issuer: issuer, ctx: ctx)
        }
        f.add("buildCustomCert", 2) { a in
            let b64cert = try Arg2.string(a[0]), b64key = try Arg2.string(a[1])
            guard let certData = Data(base64Encoded: b64cert) else { throw FunctionError("unable to decode base64 certificate") }
            guard let keyData = Data(base64Encoded: b64key) else { throw FunctionError("unable to decode base64 private key") }
            let certText = String(decoding: certData, as: UTF8.self), keyText = String(decoding: keyData, as: UTF8.self)
            guard let block = SprigKey.firstBlock(certText) else { throw FunctionError("unable to decode certificate") }
            do { _ = try Certificate(derEncoded: block.der) } catch {
                throw FunctionError("error parsing certificate: decodedCert.Bytes: \(error)")
            }
            do { _ = try SprigKey.parse(keyText) } catch let e as FunctionError {
                throw FunctionError("error parsing private key: \(e.message)")
            }
            return .object(CertificateObject(cert: certText, key: keyText))
        }
    }

    static func rsa2048(_ ctx: CallContext) throws -> _RSA.Signing.PrivateKey {
        do { return try SprigKey.generateRSA(bits: 2048, ctx: ctx) } catch let e as FunctionError { throw e } catch {
            throw FunctionError("error generating rsa key: \(error)")
        }
    }

    /// Sprig prefixes key-parsing failures of the `WithKey` functions with "parsing private key: ".
    static func parsing(_ body: () throws -> SprigKey) throws -> SprigKey {
        do { return try body() } catch let e as FunctionError { throw FunctionError("parsing private key: \(e.message)") }
    }

    /// (cn string, ips []interface{}, alternateDNS []interface{}, daysValid int)
    static func certArgs(_ a: [Value]) throws -> (String, [Value], [Value], Int) {
        func slice(_ v: Value) throws -> [Value] {
            switch v {
            case .list(let l): return l
            case .null: return []
            default: throw GoTypeError("wrong type for value; expected []interface {}; got \(v.goType)")
            }
        }
        return (try Arg2.string(a[0]), try slice(a[1]), try slice(a[2]), try Arg2.int(a[3]))
    }

    static func caArg(_ v: Value) throws -> CertificateObject {
        guard case .object(let o as CertificateObject) = v else {
            throw GoTypeError("wrong type for value; expected sprig.certificate; got \(v.goType)")
        }
        return o
    }

    struct Signer {
        let name: DistinguishedName
        let key: SprigKey
        let subjectKeyID: ArraySlice<UInt8>?
    }

    static func signer(_ ca: CertificateObject) throws -> Signer {
        guard let block = SprigKey.firstBlock(ca.cert) else { throw FunctionError("unable to decode certificate") }
        let cert: Certificate
        do { cert = try Certificate(derEncoded: block.der) } catch {
            throw FunctionError("error parsing certificate: decodedSignerCert.Bytes: \(error)")
        }
        let key: SprigKey
        do { key = try SprigKey.parse(ca.key) } catch let e as FunctionError {
            throw FunctionError("error parsing private key: \(e.message)")
        }
        let ski = try? cert.extensions.subjectKeyIdentifier?.keyIdentifier
        return Signer(name: cert.subject, key: key, subjectKeyID: ski ?? nil)
    }

    static func authority(cn: String, days: Int, key: SprigKey, ctx: CallContext) throws -> Value {
        try make(cn: cn, ips: [], dns: [], days: days, isCA: true, key: key, issuer: nil, ctx: ctx)
    }

    /// Go's x509.CreateCertificate with Sprig's template; self-signed when `issuer` is nil.
    static func make(cn: String, ips: [Value], dns: [Value], days: Int, isCA: Bool, key: SprigKey, issuer: Signer?, ctx: CallContext) throws -> Value {
        var ipBytes: [[UInt8]] = []
        for ip in ips {
            guard case .string(let s) = ip else { throw FunctionError("error parsing ip: \(GoFormat.v(ip)) is not a string") }
            guard let b = parseIP(s) else { throw FunctionError("error parsing ip: \(s)") }
            ipBytes.append(b)
        }
        var dnsNames: [String] = []
        for d in dns {
            guard case .string(let s) = d else { throw FunctionError("error processing alternate dns name: \(GoFormat.v(d)) is not a string") }
            dnsNames.append(s)
        }
        var serial = ctx.randomBytes(16)
        if serial.allSatisfy({ $0 == 0 }) { serial[15] = 1 }
        let now = ctx.options.deterministic ? ctx.options.fixedNow : Date()
        let notBefore = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let notAfter = notBefore.addingTimeInterval(Double(days) * 86400)
        do {
            let subject = try DistinguishedName { CommonName(cn) }
            let publicKey = key.certificateKey.publicKey
            let signingKey = issuer?.key ?? key
            let issuerName = issuer?.name ?? subject
            let extensions = try Certificate.Extensions {
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true, keyCertSign: isCA))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                Critical(isCA ? BasicConstraints.isCertificateAuthority(maxPathLength: nil) : BasicConstraints.notCertificateAuthority)
                if isCA { SubjectKeyIdentifier(hash: publicKey) }
                if let ski = issuer?.subjectKeyID, issuerName != subject { AuthorityKeyIdentifier(keyIdentifier: ski) }
                if !dnsNames.isEmpty || !ipBytes.isEmpty {
                    SubjectAlternativeNames(dnsNames.map { GeneralName.dnsName($0) } + ipBytes.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: ArraySlice($0))) })
                }
            }
            let cert = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(bytes: serial), publicKey: publicKey,
                notValidBefore: notBefore, notValidAfter: notAfter, issuer: issuerName, subject: subject,
                signatureAlgorithm: signingKey.signatureAlgorithm, extensions: extensions,
                issuerPrivateKey: signingKey.certificateKey)
            let pem = try cert.serializeAsPEM().pemString + "\n"
            return .object(CertificateObject(cert: pem, key: key.pem))
        } catch let e as FunctionError {
            throw e
        } catch {
            throw FunctionError("error creating certificate: \(error)")
        }
    }

    /// Go's net.ParseIP, with IPv4 addresses as 4 bytes (as x509 writes them).
    static func parseIP(_ s: String) -> [UInt8]? {
        var v4 = in_addr()
        if !s.contains(":"), inet_pton(AF_INET, s, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, s, &v6) == 1 {
            let b = withUnsafeBytes(of: &v6) { Array($0) }
            if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff { return Array(b[12...]) }
            return b
        }
        return nil
    }
}
