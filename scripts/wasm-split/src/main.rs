//! `pairwise-wasm-split INPUT OUT_DIR NAME`: cuts the browser wasm (linked with
//! `--emit-relocs`) at its `#[lazy]` split points, as cargo-leptos's `--split` does, with
//! `wasm_split_cli_support`. Writes into OUT_DIR the main module `NAME_split.wasm` (for
//! wasm-bindgen), one wasm file per chunk, the loader `__wasm_split.______________________.js`
//! (the name the Leptos server looks for) and `__wasm_split_manifest.json` (each split point's
//! chunks, which the server turns into preload links).

use std::{collections::BTreeMap, path::PathBuf, process::ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, out_dir, name] = args.as_slice() else {
        eprintln!("usage: pairwise-wasm-split INPUT.wasm OUT_DIR NAME");
        return ExitCode::from(2);
    };
    match split(input, &PathBuf::from(out_dir), name) {
        Ok(chunks) => {
            println!("wasm-split: {input} → {name}_split.wasm and {chunks} chunks in {out_dir}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("wasm-split: {input}: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn split(input: &str, out_dir: &PathBuf, name: &str) -> Result<usize, Box<dyn std::error::Error>> {
    let wasm = std::fs::read(input).map_err(|e| format!("cannot read: {e}"))?;
    std::fs::create_dir_all(out_dir)?;
    let main_out = out_dir.join(format!("{name}_split.wasm"));
    let main_module = format!("/pkg/{name}.js");
    let split = wasm_split_cli_support::transform({
        let mut options = wasm_split_cli_support::Options::new(&wasm);
        options.output_dir = out_dir;
        options.main_out_path = &main_out;
        options.main_module = &main_module;
        options.link_name = "./__wasm_split.______________________.js";
        options
    })
    .map_err(|e| format!("{e:#}"))?;
    // Sorted, so that the same input gives the same manifest.
    let manifest: BTreeMap<_, _> = split.prefetch_map.into_iter().collect();
    std::fs::write(
        out_dir.join("__wasm_split_manifest.json"),
        serde_json::to_string_pretty(&manifest)?,
    )?;
    Ok(split.split_modules.len())
}
