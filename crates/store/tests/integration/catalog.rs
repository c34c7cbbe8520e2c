//! Versioned rubrics and the model registry.

use pairwise_core::rubric::{RubricSpec, DEFAULT_RUBRIC};
use pairwise_store::{models, rubrics, testing::TestDb, StoreError};

#[tokio::test]
async fn rubric_edits_make_new_versions_and_the_default_exists() {
    for t in TestDb::all().await {
        let v1 = rubrics::show(&t.db, DEFAULT_RUBRIC).await.expect("default");
        assert_eq!(v1.version, 1);
        assert_eq!(
            v1.spec,
            RubricSpec::default_3h(),
            "migration copy matches the code"
        );
        let mut spec = v1.spec.clone();
        assert!(matches!(
            rubrics::save(&t.db, "default", &spec, false, None).await,
            Err(StoreError::Conflict(_))
        ));
        spec.dimensions[0].weight = 2.0;
        let v2 = rubrics::save(&t.db, "default", &spec, false, None)
            .await
            .expect("v2");
        assert_eq!(v2.version, 2);
        assert_eq!(
            rubrics::show(&t.db, "default")
                .await
                .expect("latest")
                .version,
            2
        );
        assert_eq!(
            rubrics::show(&t.db, "default@1").await.expect("v1").spec,
            RubricSpec::default_3h(),
            "v1 is unchanged"
        );
        spec.temperature = 0.9;
        assert!(matches!(
            rubrics::save(&t.db, "default", &spec, false, None).await,
            Err(StoreError::Invalid { field: "spec", .. })
        ));
        assert!(matches!(
            rubrics::show(&t.db, "default@9").await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(rubrics::list(&t.db).await.expect("list").len(), 2);
        t.finish().await;
    }
}

#[tokio::test]
async fn models_register_once_and_record_new_versions() {
    for t in TestDb::all().await {
        let new = models::NewModel {
            remote: None,
            name: "tiny".into(),
            kind: "generator".into(),
            path: "/models/tiny".into(),
            version: "v1".into(),
            device: "cpu".into(),
            created_by: None,
        };
        let m = models::register(&t.db, new.clone())
            .await
            .expect("register");
        assert!(matches!(
            models::register(&t.db, new.clone()).await,
            Err(StoreError::Conflict(_))
        ));
        let mut bad = new.clone();
        bad.name = "other".into();
        bad.kind = "oracle".into();
        assert!(matches!(
            models::register(&t.db, bad).await,
            Err(StoreError::Invalid { field: "kind", .. })
        ));
        assert!(!models::record_version(&t.db, m.id, "v1")
            .await
            .expect("same"));
        assert!(models::record_version(&t.db, m.id, "v2")
            .await
            .expect("changed"));
        assert_eq!(models::get(&t.db, "tiny").await.expect("get").version, "v2");
        t.finish().await;
    }
}

#[tokio::test]
async fn the_default_constitution_exists_and_edits_make_new_versions() {
    use pairwise_core::constitution::{ConstitutionSpec, DEFAULT_CONSTITUTION};
    use pairwise_store::constitutions;
    for t in TestDb::all().await {
        let v1 = constitutions::show(&t.db, DEFAULT_CONSTITUTION)
            .await
            .expect("default");
        assert_eq!((v1.version, v1.locked), (1, false));
        assert_eq!(
            v1.spec,
            ConstitutionSpec::default_principles(),
            "migration copy matches the code"
        );
        assert!(matches!(
            constitutions::save(&t.db, "default", &v1.spec, None).await,
            Err(StoreError::Conflict(_))
        ));
        let mut spec = v1.spec.clone();
        spec.principles[0].revision = "Rewrite it kindly.".into();
        let v2 = constitutions::save(&t.db, "default", &spec, None)
            .await
            .expect("v2");
        assert_eq!(v2.version, 2);
        assert_eq!(
            constitutions::show(&t.db, "default@1")
                .await
                .expect("v1")
                .spec,
            v1.spec,
            "v1 is unchanged"
        );
        assert_eq!(
            constitutions::show(&t.db, "default")
                .await
                .expect("latest")
                .version,
            2
        );
        spec.principles[1].critique = String::new();
        let e = constitutions::save(&t.db, "default", &spec, None)
            .await
            .expect_err("empty critique");
        assert!(e.to_string().contains("principles[1].critique"), "{e}");
        assert!(matches!(
            constitutions::show(&t.db, "default@9").await,
            Err(StoreError::NotFound(_))
        ));
        assert!(constitutions::show(&t.db, "default@x").await.is_err());
        t.finish().await;
    }
}
