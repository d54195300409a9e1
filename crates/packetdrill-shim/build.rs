//! Compiles the C half of the shim: the variadic `fcntl` and `ioctl` entry points.

fn main() {
    println!("cargo::rerun-if-changed=src/varargs.c");
    cc::Build::new()
        .file("src/varargs.c")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("packetdrill_shim_varargs");
}
