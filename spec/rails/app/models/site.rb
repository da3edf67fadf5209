# frozen_string_literal: true

class Site < ApplicationRecord
  include UcrawlerNative::Model

  has_many :tags, dependent: nil
  scope :by_title, -> { order(:title) }
  scope :uncrawled, -> { where(crawled_at: nil) }

  crawls :url, depth: 0,
               update: { title: :title, http_status: :status, crawl_error: :error, crawled_at: :now },
               callback: :record_crawl

  # The jobs' callback (with: "callback"). A URL containing "explode" raises, for the error specs.
  def record_crawl(page)
    raise ArgumentError, "exploding site #{id}" if url.include?("explode")

    update_columns(title: page.title, http_status: page.status, crawled_at: Time.current, note: "callback")
  end
end
