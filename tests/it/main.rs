//! The edba CLI's cross-crate tests, in one test binary (one link instead of four);
//! run one subject with `cargo test -p edba --test it <module>::`.

mod deploy_support;

mod console;
mod deploy_cfn_lint;
mod deploy_scripts;
mod deploy_template;
mod exec_cli;
mod faults_local;
mod lineage_local;
mod pipeline_local;
mod pipeline_project;
mod project_cli;
mod serve;
