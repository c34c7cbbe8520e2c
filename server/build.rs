//! Checks the mimalloc option numbers the binary sets against the vendored C header.
//!
//! `libmimalloc-sys` does not name `mi_option_purge_delay` or `mi_option_arena_eager_commit`, so
//! `main` sets them by number. This script writes those numbers for `main` (`mi_options.rs`)
//! and has the C compiler check each against the `mi_option_e` enum of the header that
//! `libmimalloc-sys` built (`DEP_MIMALLOC_INCLUDE_DIR`): a mimalloc upgrade that renumbers them
//! fails the build instead of setting another option.

use std::{env, fs, path::PathBuf, process::Command};

/// (constant in `main`, enumerator of `mi_option_e`, its number).
const OPTIONS: [(&str, &str, i32); 2] = [
    ("MI_OPTION_PURGE_DELAY", "mi_option_purge_delay", 15),
    (
        "MI_OPTION_ARENA_EAGER_COMMIT",
        "mi_option_arena_eager_commit",
        4,
    ),
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_MIMALLOC_INCLUDE_DIR");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let include = env::var("DEP_MIMALLOC_INCLUDE_DIR").expect("libmimalloc-sys names its headers");

    let mut check = String::from("#include <mimalloc.h>\n");
    let mut rust = String::new();
    for (constant, enumerator, number) in OPTIONS {
        check.push_str(&format!(
            "_Static_assert({enumerator} == {number}, \"{enumerator} is not {number} in this \
             mimalloc: update server/build.rs\");\n"
        ));
        rust.push_str(&format!(
            "/// `{enumerator}` of the vendored mimalloc's `mi_option_e` (checked by build.rs).\n\
             const {constant}: libmimalloc_sys::mi_option_t = {number};\n"
        ));
    }
    let source = out.join("mi_options_check.c");
    fs::write(&source, check).expect("OUT_DIR is writable");
    fs::write(out.join("mi_options.rs"), rust).expect("OUT_DIR is writable");

    let compiler = cc::Build::new().include(&include).get_compiler();
    if !(compiler.is_like_gnu() || compiler.is_like_clang()) {
        println!("cargo:warning=mimalloc option numbers not checked (needs gcc or clang)");
        return;
    }
    let mut command: Command = compiler.to_command();
    command.arg("-fsyntax-only").arg(&source);
    let status = command.status().expect("the C compiler runs");
    assert!(
        status.success(),
        "the mimalloc option numbers in server/build.rs do not match {include}/mimalloc.h"
    );
}
