//! Projects and their prompts: deduplication by hash, filters and paging.

use pairwise_core::{ImportFormat, PromptReader, Split};
use pairwise_store::{
    projects,
    prompts::{self, InsertDefaults, PromptFilter},
    testing::TestDb,
    StoreError,
};

#[tokio::test]
async fn prompts_dedupe_by_hash_and_page_with_totals() {
    for t in TestDb::all().await {
        let db = &t.db;
        let p = projects::create(db, "demo", "", None)
            .await
            .expect("project");
        assert!(matches!(
            projects::create(db, "demo", "", None).await,
            Err(StoreError::Conflict(_))
        ));
        let input = "{\"prompt\":\"one\"}\n{\"prompt\":\"two\",\"split\":\"eval\"}\n{\"prompt\":\" one \"}\n{\"prompt\":\"Three 100%_done\"}\n";
        let records: Vec<_> = PromptReader::new(input.as_bytes(), ImportFormat::Jsonl)
            .expect("reader")
            .map(Result::unwrap)
            .collect();
        let inserted = prompts::insert_batch(db, p.id, &records, &InsertDefaults::default())
            .await
            .expect("insert");
        assert_eq!(inserted, 3, "{}", t.backend);
        // All duplicates: nothing new, no error.
        assert_eq!(
            prompts::insert_batch(db, p.id, &records, &InsertDefaults::default())
                .await
                .expect("again"),
            0
        );

        let all = prompts::page(db, p.id, &PromptFilter::default(), 2, 0)
            .await
            .expect("page");
        assert_eq!((all.total, all.items.len()), (3, 2));
        assert_eq!(all.items[0].text, "one");
        let eval = PromptFilter {
            split: Some(Split::Eval),
            search: None,
        };
        assert_eq!(
            prompts::page(db, p.id, &eval, 10, 0)
                .await
                .expect("page")
                .total,
            1
        );
        let search = PromptFilter {
            split: None,
            search: Some("100%_D".into()),
        };
        assert_eq!(
            prompts::page(db, p.id, &search, 10, 0)
                .await
                .expect("page")
                .total,
            1,
            "{}",
            t.backend
        );
        let wildcard = PromptFilter {
            split: None,
            search: Some("%".into()),
        };
        assert_eq!(
            prompts::page(db, p.id, &wildcard, 10, 0)
                .await
                .expect("page")
                .total,
            1
        );
        assert!(matches!(
            prompts::page(db, p.id, &PromptFilter::default(), 0, 0).await,
            Err(StoreError::Invalid { field: "limit", .. })
        ));
        let listed = projects::list(db).await.expect("list");
        assert_eq!(listed[0].prompt_count, 3);
        t.finish().await;
    }
}
