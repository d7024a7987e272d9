#![allow(missing_docs, clippy::unwrap_used)]
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, test, web, HttpResponse};

async fn timing(req: ServiceRequest, next: Next<impl MessageBody>) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let n = 20_000u32;
    let t = std::time::Instant::now();
    let mut len = 0;
    for _ in 0..n {
        len += req.match_pattern().map(|p| p.len()).unwrap_or(0);
    }
    let per = t.elapsed().as_nanos() / u128::from(n);
    println!("{} -> {:?}: {per} ns per match_pattern ({len})", req.path(), req.match_pattern());
    next.call(req).await
}

#[actix_web::test]
async fn match_pattern_cost() {
    let app = test::init_service(
        App::new()
            .wrap(from_fn(timing))
            .configure(sigil::routes::configure)
            .default_service(web::to(HttpResponse::NotFound)),
    )
    .await;
    for path in ["/token", "/credential", "/nonce", "/admin/v1/offers", "/credential-offer/abc", "/acme/token", "/zzz/unknown/path", "/metrics"] {
        let req = test::TestRequest::post().uri(path).to_request();
        let _ = test::call_service(&app, req).await;
    }
}
